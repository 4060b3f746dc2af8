import { BUCKET_OF_D, HIST, LAST, type ProbeContext } from './kinds.ts';

/**
 * TCP probe group: connect latency and smoothed RTT.
 *
 * `tcp:tcp_probe` and the SYN-ACK that completes a connect run in softirq, where the current task is
 * whoever was interrupted. So a socket is attributed to a process only in process context, by its
 * kernel address: `@sk[sk] = name` when a traced task moves it to SYN_SENT (connect) and when it sends
 * or receives on it (`sock:sock_send_length`/`sock_recv_length`, which also covers accepted and
 * pre-existing sockets; one block per tracepoint: bpftrace 0.17 fails to load a block attached to both
 * when another block uses one of them). The entry goes when the socket reaches TCP_CLOSE.
 *
 * - `@hist[name, connect, bucket]`, `@last[name, connect]`: SYN_SENT → ESTABLISHED
 *   (`sock:inet_sock_set_state`; a socket in SYN_SENT can only move on to ESTABLISHED or CLOSE),
 *   podtrace_latency_seconds / _latest_seconds. Failed connects are not timed.
 * - `@hist[name, rtt, bucket]`, `@last[name, rtt]`: `srtt` (µs) of every `tcp:tcp_probe` (each segment
 *   received on an established socket) of an attributed socket, podtrace_rtt_seconds / _latest_seconds.
 */
export function tcpProbes(p: ProbeContext): string {
  return `
// ---- tcp: connect latency (SYN_SENT -> ESTABLISHED) and srtt, sockets attributed in process context
tracepoint:sock:inet_sock_set_state
/args->protocol == 6/
{
  $sk = (uint64)args->skaddr;
  $new = args->newstate;
  if ($new == 2 && ${p.traced}) {
    @syn[$sk] = nsecs;
    @sk[$sk] = ${p.name};
    @sko[$sk] = 1;
  }
  if ($new == 1 && @syn[$sk]) {
    $d = nsecs - @syn[$sk];
    delete(@syn[$sk]);
    ${BUCKET_OF_D}
    @hist[@sk[$sk], ${HIST.connect}, $b] = stats($d);
    @last[@sk[$sk], ${LAST.connect}] = $d;
  }
  if ($new == 7) {
    delete(@syn[$sk]);
    delete(@sk[$sk]);
    delete(@sko[$sk]);
  }
}

${['send', 'recv']
  .map(
    (dir) => `tracepoint:sock:sock_${dir}_length
/${p.traced}/
{
  $sk = (uint64)args->sk;
  if (args->protocol == 6 && !@sko[$sk]) {
    @sk[$sk] = ${p.name};
    @sko[$sk] = 1;
  }
}
`,
  )
  .join('\n')}
tracepoint:tcp:tcp_probe
{
  $sk = (uint64)args->skaddr;
  if (@sko[$sk]) {
    $d = (uint64)args->srtt * 1000;
    ${BUCKET_OF_D}
    @hist[@sk[$sk], ${HIST.rtt}, $b] = stats($d);
    @last[@sk[$sk], ${LAST.rtt}] = $d;
  }
}
`;
}
