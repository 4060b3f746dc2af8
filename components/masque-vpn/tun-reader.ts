import { Socket } from 'node:net';
import koffi from 'koffi';
import { loadLibc } from './libc.ts';

/**
 * Reads a TUN descriptor on the event loop itself: no thread pool, no extra thread hop per wake-up.
 *
 * Node has no public handle for a character device: `new net.Socket({ fd })` refuses it
 * (`ERR_INVALID_FD_TYPE: Unsupported fd type: FILE`, because libuv's `uv_guess_handle` calls every
 * character device a file), and `fs.read` runs in libuv's thread pool, so every packet would wake a pool
 * thread first and then the loop. libuv's pipe handle, though, takes any pollable descriptor:
 * `uv_pipe_open` only sets O_NONBLOCK and registers the descriptor with epoll, and its reads are plain
 * `read(2)` calls, one per readiness, which on a TUN is one IP packet each. Node builds that handle from
 * `process.binding('pipe_wrap')` (the binding `net` itself uses; allowed through `process.binding` on
 * Node 22 and 24, deprecated in documentation only, DEP0111) and wraps it in a `net.Socket` whose
 * `onread` hands each read over without a stream's buffering or a new Buffer per packet.
 */

/** Packets read per wake-up beyond libuv's one. */
const DRAIN_MAX = 256;
const EAGAIN = 11;
const EINTR = 4;

interface PipeHandle {
  open(fd: number): number;
}
interface PipeWrap {
  Pipe: new (type: number) => PipeHandle;
  constants: { SOCKET: number };
}

/**
 * Starts reading packets from `fd` (a TUN descriptor, IFF_NO_PI: one IP packet per read) on the event
 * loop. The descriptor now belongs to the returned socket: `destroy()` it to stop reading and close it.
 * Writes are not made through the socket (a stream may merge queued writes into one `writev`, which would
 * join packets); write to `fd` directly.
 * @param mtu largest packet in bytes; the read buffer has 64 bytes more, and a longer packet is cut there.
 * @param packet called once per packet with a view of the shared read buffer, valid only during the call.
 * @param error called once when reading fails (the socket is then destroyed).
 * @throws Error with the errno's name when libuv refuses the descriptor.
 */
export function readPackets(fd: number, mtu: number, packet: (p: Buffer) => void, error: (e: Error) => void): Socket {
  const { Pipe, constants } = (process as unknown as { binding(name: 'pipe_wrap'): PipeWrap }).binding('pipe_wrap');
  const handle = new Pipe(constants.SOCKET);
  const rc = handle.open(fd);
  if (rc !== 0) throw new Error(`reading the TUN descriptor on the event loop: uv_pipe_open failed (${rc})`);
  const buffer = Buffer.allocUnsafe(mtu + 64);
  const libc = loadLibc();
  const { read } = libc;
  // libuv reads once per epoll wake-up (a short read ends its turn); under load the loop would then take
  // one turn per packet and the kernel's queue overflow. So each wake-up also reads what is queued, until
  // EAGAIN or DRAIN_MAX packets (then epoll, level-triggered, wakes the loop again).
  const drain = () => {
    for (let i = 0; i < DRAIN_MAX && !socket.destroyed; i++) {
      const n = read(fd, buffer, buffer.length) as number;
      if (n > 0) packet(buffer.subarray(0, n));
      else {
        const errno = koffi.errno();
        if (n < 0 && errno !== EAGAIN && errno !== EINTR) socket.destroy(new Error(`read from the TUN: ${libc.strerror(errno) as string}`));
        return;
      }
    }
  };
  const socket = new Socket({
    handle,
    readable: true,
    writable: false,
    onread: {
      buffer,
      callback(n: number) {
        if (n > 0) packet(buffer.subarray(0, n));
        drain();
        return true;
      },
    },
  } as unknown as ConstructorParameters<typeof Socket>[0]);
  socket.on('error', error);
  socket.on('end', () => error(new Error('the TUN descriptor reached end of file')));
  return socket;
}
