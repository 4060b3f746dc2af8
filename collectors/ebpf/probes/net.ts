import { BYTES } from './kinds.ts';

/**
 * Network bytes, a part of the socket block (`probes/sock.ts`): `sock:sock_send_length` and
 * `sock:sock_recv_length`, which the kernel fires in `sock_sendmsg`/`sock_recvmsg` (every send/recv/write/read
 * family call on a socket, in the caller's context), for IPv4/IPv6 TCP and UDP sockets only (not Unix,
 * netlink or raw sockets). `@bytes[name, send|recv] = sum(ret)`: podtrace_network_bytes_total{direction},
 * bytes the call moved. Reads with MSG_PEEK are not counted (the data is read again later). Not seen:
 * sendfile and splice into a socket, and io_uring.
 *
 * @returns statements for a traced task, run with `$ret`, `$fam`, `$flags` (recv) and `$name` set and
 *   `$proto` already known to be TCP or UDP.
 */
export function netOnSock(dir: 'send' | 'recv'): string {
  const notPeek = dir === 'recv' ? ' && !($flags & 2)' : '';
  return `if ($ret > 0 && ($fam == 2 || $fam == 10)${notPeek}) { @bytes[$name, ${BYTES[dir]}] = sum($ret); }`;
}
