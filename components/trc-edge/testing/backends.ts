import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { createSecureContext, TLSSocket } from 'node:tls';

/**
 * TLS backends for the edge's tests: each terminates TLS itself (the edge never does) and answers every
 * line it receives with one line that identifies it: `<tag> sni=<servername> proxy=<PROXY v1 line or -> got=<line>`.
 * With `acceptProxyV1`, a connection must start with a PROXY protocol v1 line (HAProxy's `send-proxy`),
 * which is kept for the answer. A backend can be killed (listener and connections closed) and started
 * again on the same port, for the health tests.
 */

/** A running TLS backend on 127.0.0.1. */
export interface TagBackend {
  readonly port: number;
  /** Closes the listener and every open connection (the port refuses connections). */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Answers each line of a secured connection. */
function answerLines(tag: string, socket: TLSSocket, proxyLine: string): void {
  let rest = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    rest += d;
    let nl: number;
    while ((nl = rest.indexOf('\n')) !== -1) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      socket.write(`${tag} sni=${socket.servername || '-'} proxy=${proxyLine} got=${line}\n`);
    }
  });
}

/** A Duplex over `s` whose first bytes are `first` (a TLS socket over it sees every byte, unlike one on the socket's handle). */
function duplexOver(s: Socket, first: Buffer): Duplex {
  const d = new Duplex({
    read: () => void s.resume(),
    write: (chunk: Buffer, _enc, cb) => void s.write(chunk, cb),
    final: (cb) => {
      s.end();
      cb();
    },
    destroy: (err, cb) => {
      s.destroy();
      cb(err);
    },
  });
  if (first.length > 0) d.push(first);
  s.on('data', (c: Buffer) => {
    if (!d.push(c)) s.pause();
  });
  s.on('end', () => d.push(null));
  s.on('close', () => d.destroy());
  return d;
}

/** Reads a PROXY v1 line (at most 107 bytes + CRLF) from `s`, then hands the line and the bytes after it to `next`. */
function readProxyV1(s: Socket, next: (line: string, rest: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  const onData = (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    const end = buf.indexOf('\r\n');
    if (end === -1) {
      if (buf.length > 110) s.destroy();
      return;
    }
    s.off('data', onData);
    next(buf.subarray(0, end).toString('latin1'), buf.subarray(end + 2));
  };
  s.on('data', onData);
}

/**
 * Starts a TLS backend with `pem` on 127.0.0.1 (a kernel-chosen port).
 * @throws the listen error.
 */
export async function startTagBackend(tag: string, pem: { key: string; cert: string }, opts: { acceptProxyV1?: boolean } = {}): Promise<TagBackend> {
  const secureContext = createSecureContext({ key: pem.key, cert: pem.cert });
  const serve = (transport: Socket | Duplex, proxyLine: string) => {
    const t = new TLSSocket(transport as Socket, { isServer: true, secureContext });
    t.on('error', () => undefined);
    t.once('secure', () => answerLines(tag, t, proxyLine));
  };
  const sockets = new Set<Socket>();
  const server: Server = createNetServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    if (!opts.acceptProxyV1) return serve(s, '-');
    readProxyV1(s, (line, rest) => serve(duplexOver(s, rest), line));
  });
  const listenOn = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const port = await listenOn(0);
  const kill = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      if (!server.listening) return r();
      server.close(() => r());
    });
  return { port, kill, restart: async () => void (await listenOn(port)), close: kill };
}
