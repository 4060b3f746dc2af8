import { BUCKET_OF_D, HIST, LAST, type ProbeContext } from './kinds.ts';

/** The libc resolver entry points timed by uprobe (all exported by glibc and musl). */
export const RESOLVER_FUNCTIONS = ['getaddrinfo', 'getnameinfo', 'gethostbyname', 'gethostbyname2', 'gethostbyname_r', 'gethostbyname2_r'] as const;

/** UDP port 53 in network byte order, as `skc_dport` and `sin_port` hold it on a little-endian machine. */
const PORT_53_BE = 0x3500;

/** Statements recording `$d` (ns) as one DNS lookup of `name`. */
const record = (name: string) => `${BUCKET_OF_D}
    @hist[${name}, ${HIST.dns}, $b] = stats($d);
    @last[${name}, ${LAST.dns}] = $d;`;

/** Statements starting an exchange on socket `sk` unless one started less than 5 s ago. */
const startExchange = (sk: string) => `$q = @dnsq[${sk}]; if (!$q || nsecs - $q > (uint64)5000000000) { @dnsq[${sk}] = nsecs; }`;

/**
 * DNS probe group, podtrace_dns_latency_seconds_histogram / _gauge:
 *
 * 1. Resolver calls: a uprobe and a uretprobe on each of {@link RESOLVER_FUNCTIONS} in every libc given
 *    (`libcPaths`), entry to return, per thread. A call nested in another (gethostbyname → gethostbyname_r)
 *    is timed once.
 * 2. Plain UDP port-53 exchanges outside those calls (static binaries, Go's own resolver, hand-written
 *    clients): from the first datagram sent to port 53 on a socket — a connected UDP socket
 *    (`skc_dport`, seen by `sock:sock_send_length`, {@link dnsOnSock}) or `sendto` with a destination
 *    address — to the next datagram received on that socket. Exchanges inside a timed resolver call are
 *    not counted twice. Not seen: DNS over TCP, DoT/DoH, `sendmsg` with a destination address on an
 *    unconnected socket, and replies that never come (the pending start is replaced after 5 s; latencies
 *    above 30 s are dropped as stale).
 */
export function dnsProbes(p: ProbeContext, libcPaths: readonly string[]): string {
  const attach = (kind: 'uprobe' | 'uretprobe') => libcPaths.flatMap((lib) => RESOLVER_FUNCTIONS.map((fn) => `${kind}:${lib}:${fn}`)).join(',\n');
  const resolver =
    libcPaths.length === 0
      ? '// (no libc found: resolver calls are not timed)\n'
      : `${attach('uprobe')}
/${p.traced} && !@gai[tid]/
{
  @gai[tid] = nsecs;
}

${attach('uretprobe')}
{
  $start = @gai[tid];
  if ($start) {
    $d = nsecs - $start;
    delete(@gai[tid]);
    $name = ${p.name};
    ${record('$name')}
  }
}
`;
  // Every sendto of the machine runs this block: the destination is checked before any map lookup
  // (send() and sendall() on a connected socket pass none).
  return `
// ---- dns: libc resolver calls by uprobe, and UDP port-53 exchanges outside them
${resolver}
tracepoint:syscalls:sys_enter_sendto
{
  $addr = args->addr;
  if ($addr != 0) {
    if (*(uint16 *)((uint64)$addr + 2) == ${PORT_53_BE}) {
      if (${p.traced}) {
        if (!@gai[tid]) {
          $fd = (uint64)args->fd;
          $fdt = ((struct task_struct *)curtask)->files->fdt;
          if ($fd < (uint64)$fdt->max_fds) {
            $sk = (uint64)((struct socket *)(*($fdt->fd + $fd))->private_data)->sk;
            ${startExchange('$sk')}
          }
        }
      }
    }
  }
}
`;
}

/**
 * The UDP exchanges' part of the socket block (`probes/sock.ts`): on `sock_send_length`, a traced task
 * outside a resolver call sending on a socket connected to port 53 starts an exchange; on
 * `sock_recv_length`, any task receiving a datagram (not peeking) on a socket with an exchange pending ends
 * it (the socket was a traced task's; the name is the receiver's).
 *
 * @returns `traced`: statements for a traced task (`$proto`, `$sk` set); `any`: statements for every task
 *   (`$proto`, `$sk`, `$ret`, `$flags` set), each to run after the traced ones.
 */
export function dnsOnSock(p: ProbeContext, dir: 'send' | 'recv'): { readonly traced: string; readonly any: string } {
  if (dir === 'send') {
    return {
      traced: `if ($proto == 17) { if (((struct sock *)$sk)->__sk_common.skc_dport == ${PORT_53_BE}) { if (!@gai[tid]) { ${startExchange('$sk')} } } }`,
      any: '',
    };
  }
  return {
    traced: '',
    any: `if ($proto == 17) {
      $q = @dnsq[$sk];
      if ($q) {
        if ($ret > 0 && !($flags & 2)) {
          $d = nsecs - $q;
          delete(@dnsq[$sk]);
          if ($d < 30000000000) {
            $name = ${p.name};
            ${record('$name')}
          }
        }
      }
    }`,
  };
}
