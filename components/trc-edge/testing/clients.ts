import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { splittingTransport } from '../../ops-proxy/testing/tls-records.ts';

/**
 * Clients of the edge for tests: a TLS client that asks one line of a tag backend (tag-backend answers
 * say which backend, which SNI and which PROXY line it saw), a kept-open TLS connection, a connection the
 * edge is expected to refuse, and a real ClientHello captured from Node's TLS client. Every call is
 * bounded (5 s) and closes what it opened.
 */

const BOUND_MS = 5000;

/** Where and how a TLS client connects. */
export interface TlsClientOptions {
  /** Edge address (default 127.0.0.1). */
  readonly host?: string;
  /** Source address (to tell the client's address from the edge's on loopback: 127.0.0.2). */
  readonly localAddress?: string;
  /** Send the ClientHello split over records and TCP segments (see ops-proxy/testing/tls-records.ts). */
  readonly split?: { readonly recordBytes: number; readonly segmentBytes: number };
}

/** A TLS connection kept open: each `ask` writes a line and returns the backend's answer line. */
export interface TlsLines {
  readonly socket: TLSSocket;
  /** The client's own port (what the backend should see through PROXY v2). */
  readonly localPort: number;
  ask(line: string): Promise<string>;
  close(): void;
}

/**
 * Opens a TLS connection to the edge with SNI `servername`, trusting `ca`, and waits for the handshake.
 * @throws when the handshake fails, the connection closes first, or 5 s pass.
 */
export function openTlsLines(port: number, servername: string, ca: string, opts: TlsClientOptions = {}): Promise<TlsLines> {
  const host = opts.host ?? '127.0.0.1';
  const socket = opts.split
    ? tlsConnect({ socket: splittingTransport(port, opts.split.recordBytes, opts.split.segmentBytes), servername, ca })
    : tlsConnect({ port, host, servername, ca, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  let rest = '';
  const waiting: ((line: string | Error) => void)[] = [];
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    rest += d;
    let nl: number;
    while ((nl = rest.indexOf('\n')) !== -1 && waiting.length > 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      waiting.shift()?.(line);
    }
  });
  socket.on('close', () => {
    for (const w of waiting.splice(0)) w(new Error(`TLS connection to ${servername} closed before an answer`));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TLS to ${servername}: no handshake in ${BOUND_MS} ms`));
    }, BOUND_MS);
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.on('error', () => undefined);
      resolve({
        socket,
        localPort: socket.localPort as number,
        ask: (line) =>
          new Promise<string>((ok, fail) => {
            const t = setTimeout(() => fail(new Error(`TLS to ${servername}: no answer to "${line}" in ${BOUND_MS} ms`)), BOUND_MS);
            waiting.push((r) => {
              clearTimeout(t);
              if (r instanceof Error) fail(r);
              else ok(r);
            });
            socket.write(`${line}\n`);
          }),
        close: () => socket.destroy(),
      });
    });
  });
}

/** One line asked over a fresh TLS connection, which is then closed; the backend's answer. */
export async function tlsLine(port: number, servername: string, ca: string, opts: TlsClientOptions = {}): Promise<string> {
  const c = await openTlsLines(port, servername, ca, opts);
  try {
    return await c.ask('hello');
  } finally {
    c.close();
  }
}

/**
 * A TLS handshake the edge should refuse (no SNI when `servername` is undefined: Node sends none for an IP
 * host): resolves once the connection is closed without a handshake.
 * @throws when the handshake succeeds, or 5 s pass.
 */
export function tlsRefused(port: number, servername?: string): Promise<void> {
  const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...(servername !== undefined ? { servername } : {}) });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TLS ${servername ?? '(no SNI)'}: not closed in ${BOUND_MS} ms`));
    }, BOUND_MS);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`TLS ${servername ?? '(no SNI)'}: the handshake succeeded`));
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Opens a raw connection, writes `bytes` (ending our side when `end`), and resolves when the edge has
 * closed it.
 * @throws when it is still open after `boundMs`.
 */
export function closedByEdge(port: number, bytes: Buffer, opts: { end?: boolean; boundMs?: number } = {}): Promise<void> {
  const socket: Socket = netConnect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const bound = opts.boundMs ?? BOUND_MS;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw connection to ${port}: still open after ${bound} ms`));
    }, bound);
    socket.on('error', () => undefined);
    socket.resume();
    socket.once('connect', () => {
      if (bytes.length > 0) socket.write(bytes);
      if (opts.end) socket.end();
    });
    // The edge ended its side (or reset): we are done.
    socket.once('end', () => socket.destroy());
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The first record Node's TLS client sends for `servername` (its ClientHello), caught on a throwaway listener. */
export async function captureClientHello(servername: string): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
          resolve(buf.subarray(0, 5 + buf.readUInt16BE(3)));
          s.destroy();
        }
      });
    });
  });
  const client = tlsConnect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', servername, rejectUnauthorized: false });
  client.on('error', () => undefined);
  try {
    return await got;
  } finally {
    client.destroy();
    server.close();
  }
}
