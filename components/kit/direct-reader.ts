import { connect, type OnReadOpts, type Socket, type TcpNetConnectOpts } from 'node:net';

/**
 * Reads a socket this process dials into one reused buffer and writes each read straight to another
 * socket (Node's `onread` option of `net.connect`). A socket read the ordinary way gets a freshly
 * allocated buffer per read; at hundreds of MiB/s that external memory forces a full garbage
 * collection every ~64 MiB, whose cost grows with the heap (the metrics pipeline's). Here the buffer
 * is reused whenever the write that carried it completed at once, which is the common case; a buffer
 * still held by a pending write is left to it and a new one is taken, so no byte is overwritten.
 * Back-pressure: a write that fills the destination pauses this socket; `splice` resumes it on 'drain'.
 * Dial with {@link connectDirect}; `splice` finds the reader with {@link directReaderOf}.
 * The buffer starts at 16 KiB and grows to 256 KiB once a read fills it, so an idle tunnel keeps little.
 * Only sockets created with `connect({ onread })` can read this way (a server's accepted sockets cannot).
 */

/** First buffer size: what an idle or chatty tunnel keeps per socket. */
export const READ_BUFFER_MIN_BYTES = 16 * 1024;
/** Size after a read filled the buffer: 4 x libuv's default, so a fast sender costs fewer reads and callbacks. */
export const READ_BUFFER_MAX_BYTES = 256 * 1024;

const readers = new WeakMap<Socket, DirectReader>();

/**
 * `net.connect(opts)` reading through a {@link DirectReader}. The socket comes paused: nothing is read
 * until `splice` (or {@link DirectReader.forwardTo} and `resume()`).
 */
export function connectDirect(opts: TcpNetConnectOpts): Socket {
  const reader = new DirectReader();
  const socket = connect({ ...opts, onread: reader.onread }).pause();
  readers.set(socket, reader);
  return socket;
}

/** The reader of a socket made by {@link connectDirect}; undefined for any other socket (read by 'data' events). */
export function directReaderOf(socket: Socket): DirectReader | undefined {
  return readers.get(socket);
}

/** The `onread` state of one dialled socket. */
export class DirectReader {
  /** For `connect({ onread })`. */
  readonly onread: OnReadOpts;
  private buffer: Buffer | undefined;
  private size = READ_BUFFER_MIN_BYTES;
  /** The current buffer is referenced by a write that has not completed (or is too small): take a new one. */
  private lent = false;
  private to: Socket | undefined;
  private count: ((bytes: number) => void) | undefined;
  /** Bytes read before {@link forwardTo} (copied; only if the socket was resumed early). */
  private early: Buffer[] = [];

  constructor() {
    this.onread = { buffer: () => this.next(), callback: (n, buf) => this.read(n, buf as Buffer) };
  }

  /** From now on every read is written to `to` (bytes read earlier first); `count` is told each read's size. */
  forwardTo(to: Socket, count?: (bytes: number) => void): void {
    this.to = to;
    this.count = count;
    for (const chunk of this.early.splice(0)) this.read(chunk.length, chunk);
  }

  private next(): Buffer {
    if (this.buffer === undefined || this.lent) {
      this.buffer = Buffer.allocUnsafeSlow(this.size);
      this.lent = false;
    }
    return this.buffer;
  }

  /** @returns false to pause the socket (the destination's buffer is full). */
  private read(n: number, buf: Buffer): boolean {
    const to = this.to;
    if (to === undefined) {
      this.early.push(Buffer.from(buf.subarray(0, n)));
      return true;
    }
    this.count?.(n);
    if (n === buf.length && this.size < READ_BUFFER_MAX_BYTES) {
      this.size = READ_BUFFER_MAX_BYTES;
      this.lent = true;
    }
    if (to.destroyed) return true;
    const ok = to.write(n === buf.length ? buf : buf.subarray(0, n));
    // Anything still queued on the destination may be (or follow) this chunk: keep its buffer.
    if (to.writableLength > 0 && buf === this.buffer) this.lent = true;
    return ok;
  }
}
