import { dnsOnSock } from './dns.ts';
import type { ProbeContext } from './kinds.ts';
import { netOnSock } from './net.ts';
import { tcpOnSock } from './tcp.ts';

/**
 * The socket block: one program on each of `sock:sock_send_length` and `sock:sock_recv_length` serving
 * three groups — network bytes ({@link netOnSock}), TCP socket attribution ({@link tcpOnSock}) and DNS
 * exchanges ({@link dnsOnSock}). One program per tracepoint instead of one per group: each program run
 * costs its own dispatch, selection lookup and field reads, and every send and receive of the machine
 * runs them (bpftrace 0.17 also fails to load a block attached to both tracepoints when another block
 * uses one of them).
 *
 * TCP and UDP only (protocol 6 or 17): every group ignores the rest. The process name is read once, and
 * only for a traced task.
 */
export function sockProbes(p: ProbeContext): string {
  const block = (dir: 'send' | 'recv') => {
    const dns = dnsOnSock(p, dir);
    const traced = [netOnSock(dir), tcpOnSock(), dns.traced].filter((s) => s !== '');
    return `tracepoint:sock:sock_${dir}_length
{
  $proto = args->protocol;
  if ($proto == 6 || $proto == 17) {
    $sk = (uint64)args->sk;
    $ret = args->ret;${dir === 'recv' ? '\n    $flags = args->flags;' : ''}
    if (${p.traced}) {
      $fam = args->family;
      $name = ${p.name};
      ${traced.join('\n      ')}
    }${dns.any === '' ? '' : `\n    ${dns.any}`}
  }
}
`;
  };
  return `
// ---- sockets: bytes (net), TCP attribution (tcp) and port-53 exchanges (dns), one program per tracepoint
${block('send')}
${block('recv')}`;
}
