import { BYTES, type ProbeContext } from './kinds.ts';

/**
 * Network bytes probe group: `sock:sock_send_length` and `sock:sock_recv_length`, which the kernel
 * fires in `sock_sendmsg`/`sock_recvmsg` (every send/recv/write/read family call on a socket, in the
 * caller's context), for IPv4/IPv6 TCP and UDP sockets only (not Unix, netlink or raw sockets).
 * `@bytes[name, send|recv] = sum(ret)`: podtrace_network_bytes_total{direction}, bytes the call moved.
 * Reads with MSG_PEEK are not counted (the data is read again later). Not seen: sendfile and splice
 * into a socket, and io_uring.
 */
export function netProbes(p: ProbeContext): string {
  const inetTcpUdp = '($fam == 2 || $fam == 10) && ($proto == 6 || $proto == 17)';
  return `
// ---- net: bytes over TCP and UDP sockets
tracepoint:sock:sock_send_length
/${p.traced}/
{
  $ret = args->ret;
  $fam = args->family;
  $proto = args->protocol;
  if ($ret > 0 && ${inetTcpUdp}) { @bytes[${p.name}, ${BYTES.send}] = sum($ret); }
}

tracepoint:sock:sock_recv_length
/${p.traced}/
{
  $ret = args->ret;
  $fam = args->family;
  $proto = args->protocol;
  if ($ret > 0 && !(args->flags & 2) && ${inetTcpUdp}) { @bytes[${p.name}, ${BYTES.recv}] = sum($ret); }
}
`;
}
