import { BUCKET_OF_D, HIST, LAST, type ProbeContext } from './kinds.ts';

/**
 * TCP probe group: connect latency and smoothed RTT.
 *
 * `tcp:tcp_probe` and the SYN-ACK that completes a connect run in softirq, where the current task is
 * whoever was interrupted. So a socket is attributed to a process only in process context, by its
 * kernel address: `@sk[sk] = name` when a traced task moves it to SYN_SENT (connect) and when it sends
 * or receives on it ({@link tcpOnSock}, in the socket block of `probes/sock.ts`, which also covers
 * accepted and pre-existing sockets). The entry goes when the socket reaches TCP_CLOSE. An entry is
 * never an empty string (a comm is never empty), so one lookup both finds and names a socket.
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
  }
  if ($new == 1) {
    $syn = @syn[$sk];
    if ($syn) {
      $d = nsecs - $syn;
      delete(@syn[$sk]);
      $n = @sk[$sk];
      ${BUCKET_OF_D}
      @hist[$n, ${HIST.connect}, $b] = stats($d);
      @last[$n, ${LAST.connect}] = $d;
    }
  }
  if ($new == 7) {
    delete(@syn[$sk]);
    delete(@sk[$sk]);
  }
}

tracepoint:tcp:tcp_probe
{
  $sk = (uint64)args->skaddr;
  $n = @sk[$sk];
  if ($n != "") {
    $d = (uint64)args->srtt * 1000;
    ${BUCKET_OF_D}
    @hist[$n, ${HIST.rtt}, $b] = stats($d);
    @last[$n, ${LAST.rtt}] = $d;
  }
}
`;
}

/**
 * The socket attribution, a part of the socket block (`probes/sock.ts`) on both `sock_send_length` and
 * `sock_recv_length`: a TCP socket a traced task sends or receives on is named after it, once.
 *
 * @returns statements for a traced task, run with `$proto`, `$sk` and `$name` set.
 */
export function tcpOnSock(): string {
  return `if ($proto == 6) { if (@sk[$sk] == "") { @sk[$sk] = $name; } }`;
}
