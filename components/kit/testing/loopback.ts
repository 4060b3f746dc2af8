import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * Servers and connections on 127.0.0.1 for the kit's socket tests (splice, the direct readers): every one
 * half-open allowed, errors swallowed (a test asserts on data and ends, not on resets), and all of them
 * closed by `close()` (call it in `afterAll`).
 */
export interface Loopback {
  /** A server calling `onConnection` with each accepted socket; resolves with its port. */
  listen(onConnection: (s: Socket) => void): Promise<number>;
  /** A connection to `port`, resolved once connected. */
  dial(port: number): Promise<Socket>;
  /**
   * A sink that reads slowly (a pause of 2 ms every 8 chunks, so that writes into it queue) and resolves
   * `received` with every byte at its end, answering the FIN with its own.
   */
  slowSink(): Promise<{ port: number; received: Promise<Buffer> }>;
  /** Destroys every socket and closes every server. */
  close(): Promise<void>;
}

/** A fresh {@link Loopback}. */
export function loopback(): Loopback {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  const track = (s: Socket) => {
    sockets.push(s);
    s.on('error', () => undefined);
    return s;
  };
  const listen = (onConnection: (s: Socket) => void) => {
    const server = createServer({ allowHalfOpen: true }, (s) => onConnection(track(s)));
    servers.push(server);
    return new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
  };
  return {
    listen,
    async dial(port) {
      const s = track(connect({ port, host: '127.0.0.1', allowHalfOpen: true }));
      await new Promise((r) => s.once('connect', r));
      return s;
    },
    async slowSink() {
      let resolve!: (b: Buffer) => void;
      const received = new Promise<Buffer>((r) => (resolve = r));
      const port = await listen((s) => {
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => {
          chunks.push(c);
          if (chunks.length % 8 === 0) {
            s.pause();
            setTimeout(() => s.resume(), 2);
          }
        });
        s.on('end', () => {
          s.end();
          resolve(Buffer.concat(chunks));
        });
      });
      return { port, received };
    },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
