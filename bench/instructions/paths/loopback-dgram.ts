import dgram from 'node:dgram';

/**
 * UDP without the network, for the DNS rows: `dgram.Socket`'s `connect` and `send` are replaced in the
 * child process that measures them, so that a forwarder built on real dgram sockets (bound nowhere) runs
 * in-process. A datagram sent is queued here instead of reaching the kernel; the benchmark answers it by
 * emitting `message` on the sending socket, as dgram does when a datagram arrives. Only the proxies' own
 * JavaScript is then counted, the same fake standing in for the kernel under ours and under the floor.
 */

/** One datagram a socket sent. */
export interface SentDatagram {
  readonly socket: dgram.Socket;
  readonly message: Buffer;
}

/** Datagrams sent since the last {@link takeSent}. */
const sent: SentDatagram[] = [];

/**
 * Replaces `connect` (which then calls back on the next tick) and `send` (which queues) of every dgram
 * socket of this process. For child processes of the benchmark only.
 */
export function installLoopbackDgram(): void {
  const proto = dgram.Socket.prototype as unknown as Record<string, unknown>;
  proto.connect = function connect(this: dgram.Socket, _port: number, _host?: string | (() => void), cb?: () => void): void {
    const done = typeof _host === 'function' ? _host : cb;
    if (done) process.nextTick(done);
  };
  proto.send = function send(this: dgram.Socket, message: Buffer): void {
    sent.push({ socket: this, message });
  };
}

/** The datagram sent first since the last call, or undefined; the queue is left empty when it held one. */
export function takeSent(): SentDatagram | undefined {
  return sent.shift();
}
