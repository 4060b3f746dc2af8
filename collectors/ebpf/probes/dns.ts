import { BUCKET_OF_D, HIST, LAST, type ProbeContext } from './kinds.ts';

/** The libc resolver entry points timed by uprobe (all exported by glibc and musl). */
export const RESOLVER_FUNCTIONS = ['getaddrinfo', 'getnameinfo', 'gethostbyname', 'gethostbyname2', 'gethostbyname_r', 'gethostbyname2_r'] as const;

/** UDP port 53 in network byte order, as `skc_dport` and `sin_port` hold it on a little-endian machine. */
const PORT_53_BE = 0x3500;

/**
 * DNS probe group, podtrace_dns_latency_seconds_histogram / _gauge:
 *
 * 1. Resolver calls: a uprobe and a uretprobe on each of {@link RESOLVER_FUNCTIONS} in every libc given
 *    (`libcPaths`), entry to return, per thread. A call nested in another (gethostbyname → gethostbyname_r)
 *    is timed once.
 * 2. Plain UDP port-53 exchanges outside those calls (static binaries, Go's own resolver, hand-written
 *    clients): from the first datagram sent to port 53 on a socket — a connected UDP socket
 *    (`skc_dport`, seen by `sock:sock_send_length`) or `sendto` with a destination address — to the
 *    next datagram received on that socket. Exchanges inside a timed resolver call are not counted
 *    twice. Not seen: DNS over TCP, DoT/DoH, `sendmsg` with a destination address on an unconnected
 *    socket, and replies that never come (the pending start is replaced after 5 s; latencies above
 *    30 s are dropped as stale).
 */
export function dnsProbes(p: ProbeContext, libcPaths: readonly string[]): string {
  const attach = (kind: 'uprobe' | 'uretprobe') => libcPaths.flatMap((lib) => RESOLVER_FUNCTIONS.map((fn) => `${kind}:${lib}:${fn}`)).join(',\n');
  const record = `${BUCKET_OF_D}
  @hist[${p.name}, ${HIST.dns}, $b] = stats($d);
  @last[${p.name}, ${LAST.dns}] = $d;`;
  const resolver =
    libcPaths.length === 0
      ? '// (no libc found: resolver calls are not timed)\n'
      : `${attach('uprobe')}
/${p.traced} && !@gai[tid]/
{
  @gai[tid] = nsecs;
}

${attach('uretprobe')}
/@gai[tid]/
{
  $d = nsecs - @gai[tid];
  delete(@gai[tid]);
  ${record}
}
`;
  const startExchange = (sk: string) => `if (!@dnsq[${sk}] || nsecs - @dnsq[${sk}] > (uint64)5000000000) { @dnsq[${sk}] = nsecs; }`;
  return `
// ---- dns: libc resolver calls by uprobe, and UDP port-53 exchanges outside them
${resolver}
tracepoint:sock:sock_send_length
/args->protocol == 17 && ${p.traced} && !@gai[tid]/
{
  $sk = (uint64)args->sk;
  if (((struct sock *)$sk)->__sk_common.skc_dport == ${PORT_53_BE}) { ${startExchange('$sk')} }
}

tracepoint:syscalls:sys_enter_sendto
/${p.traced} && !@gai[tid]/
{
  $addr = args->addr;
  $fd = (uint64)args->fd;
  if ($addr != 0) {
    if (*(uint16 *)((uint64)$addr + 2) == ${PORT_53_BE}) {
      $fdt = ((struct task_struct *)curtask)->files->fdt;
      if ($fd < (uint64)$fdt->max_fds) {
        $sk = (uint64)((struct socket *)(*($fdt->fd + $fd))->private_data)->sk;
        ${startExchange('$sk')}
      }
    }
  }
}

tracepoint:sock:sock_recv_length
/args->protocol == 17/
{
  $sk = (uint64)args->sk;
  if (@dnsq[$sk]) {
    $ret = args->ret;
    if ($ret > 0 && !(args->flags & 2)) {
      $d = nsecs - @dnsq[$sk];
      delete(@dnsq[$sk]);
      if ($d < 30000000000) {
        ${record}
      }
    }
  }
}
`;
}
