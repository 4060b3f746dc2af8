import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { splittingTransport } from './tls-records.ts';

/**
 * Clients of the proxy's public side and of its control port, for tests: one HTTP request on a fresh
 * connection, one TLS request, one TCP exchange, and a raw control-port peer that speaks the wire
 * protocol by hand. Every call is bounded (5 s) and closes what it opened.
 */

const BOUND_MS = 5000;

function bounded<T>(what: string, socket: Socket, run: (settle: (v: T) => void, fail: (e: Error) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${what}: no answer in ${BOUND_MS} ms`));
    }, BOUND_MS);
    run(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      },
    );
  });
}

/** Everything the server sends until it closes (the request is written first, then our side stays open). */
function readAll(socket: Socket, what: string, payload: string | Buffer | undefined, endAfterWrite: boolean): Promise<Buffer> {
  return bounded(what, socket, (settle, fail) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', fail);
    socket.on('close', () => settle(Buffer.concat(chunks)));
    if (payload !== undefined) {
      if (endAfterWrite) socket.end(payload);
      else socket.write(payload);
    }
  });
}

/** `GET path` with `Host: host` and `Connection: close` on a fresh connection; the whole raw answer. */
export async function httpGet(port: number, host: string, path = '/'): Promise<{ status: number; body: string }> {
  const s = netConnect(port, '127.0.0.1');
  const raw = (await readAll(s, `GET http://${host}${path}`, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, false)).toString('latin1');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  return { status, body: raw.slice(raw.indexOf('\r\n\r\n') + 4) };
}

/**
 * An HTTPS `GET path` with SNI `servername`, trusting `ca`; the answer body. With `split`, the ClientHello
 * goes out over several TLS records and TCP segments (see tls-records.ts).
 */
export async function httpsGet(port: number, servername: string, ca: string, path = '/', split?: { recordBytes: number; segmentBytes: number }): Promise<string> {
  const s = split ? tlsConnect({ socket: splittingTransport(port, split.recordBytes, split.segmentBytes), servername, ca }) : tlsConnect({ port, host: '127.0.0.1', servername, ca });
  const raw = (await readAll(s, `GET https://${servername}${path}`, `GET ${path} HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`, false)).toString('utf8');
  return raw.slice(raw.indexOf('\r\n\r\n') + 4);
}

/** Sends `payload`, half-closes, and returns everything received until the close. */
export async function tcpExchange(port: number, payload: string | Buffer): Promise<Buffer> {
  const s = netConnect({ port, host: '127.0.0.1', allowHalfOpen: true });
  return readAll(s, `tcp exchange on ${port}`, payload, true);
}

/** Writes `bytes` (then half-closes with `end`) and returns everything received until the server closes (or the bound). */
export async function sendRaw(port: number, bytes: Buffer, end = false): Promise<Buffer> {
  const s = netConnect({ port, host: '127.0.0.1', allowHalfOpen: end });
  return readAll(s, `raw bytes on ${port}`, bytes, end).catch(() => Buffer.alloc(0));
}

/** A hand-driven connection to the control port. */
export interface RawPeer {
  readonly socket: Socket;
  /** JSON lines received so far. */
  readonly received: Record<string, unknown>[];
  send(message: Record<string, unknown>): void;
  /** Waits for a received line with `op`. */
  next(op: string): Promise<Record<string, unknown>>;
  /** Resolves when the listener closed the connection. */
  readonly closed: Promise<void>;
}

/** Opens a raw connection to the control port. */
export async function rawPeer(port: number): Promise<RawPeer> {
  const socket = netConnect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
  const received: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let rest = '';
  socket.on('data', (c: Buffer) => {
    rest += c.toString('utf8');
    let nl: number;
    while ((nl = rest.indexOf('\n')) !== -1) {
      received.push(JSON.parse(rest.slice(0, nl)) as Record<string, unknown>);
      rest = rest.slice(nl + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  const next = (op: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${op}" line in ${BOUND_MS} ms; got ${JSON.stringify(received)}`)), BOUND_MS);
      const look = () => {
        const i = received.findIndex((m) => m.op === op);
        if (i !== -1) {
          clearTimeout(timer);
          resolve(received.splice(i, 1)[0] as Record<string, unknown>);
        } else waiters.push(look);
      };
      look();
    });
  return { socket, received, send: (m) => socket.write(`${JSON.stringify(m)}\n`), next, closed };
}

/** A connection kept open across several exchanges (an open tunnel under test). */
export interface OpenConnection {
  readonly socket: Socket;
  /** Resolves when the connection closed (from either side). */
  readonly closed: Promise<void>;
}

/** Opens a TCP connection to 127.0.0.1:`port` and waits for the connect (bounded). */
async function openConnection(port: number): Promise<{ socket: Socket; closed: Promise<void>; received: () => Buffer; waitFor: (what: string, done: (b: Buffer) => boolean) => Promise<Buffer>; reset: () => void }> {
  const socket = netConnect({ port, host: '127.0.0.1', noDelay: true });
  socket.on('error', () => undefined);
  let buf = Buffer.alloc(0);
  const waiters: (() => void)[] = [];
  socket.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  void closed.then(() => {
    for (const w of waiters.splice(0)) w();
  });
  await bounded<void>(`connect to ${port}`, socket, (settle, fail) => {
    socket.once('connect', () => settle());
    socket.once('error', fail);
  });
  const waitFor = (what: string, done: (b: Buffer) => boolean) =>
    bounded<Buffer>(what, socket, (settle, fail) => {
      const look = () => {
        if (done(buf)) settle(buf);
        else if (socket.destroyed) fail(new Error(`${what}: the connection closed; got ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`));
        else waiters.push(look);
      };
      look();
    });
  return { socket, closed, received: () => buf, waitFor, reset: () => void (buf = Buffer.alloc(0)) };
}

/** An open connection to a TCP echo route: each round trip writes bytes and waits for the same bytes back. */
export interface EchoConnection extends OpenConnection {
  /** Writes `payload` and resolves when exactly it came back (bounded, 5 s). */
  roundTrip(payload: Buffer): Promise<void>;
}

/** Opens an echo connection through the `--tcp` route on `port`. */
export async function openEcho(port: number): Promise<EchoConnection> {
  const c = await openConnection(port);
  return {
    socket: c.socket,
    closed: c.closed,
    async roundTrip(payload) {
      c.reset();
      c.socket.write(payload);
      const back = await c.waitFor(`echo of ${payload.length} bytes on ${port}`, (b) => b.length >= payload.length);
      if (!back.equals(payload)) throw new Error(`echo on ${port}: other bytes came back`);
    },
  };
}

/** An open keep-alive HTTP connection: each request goes through the same tunnel. */
export interface KeepAliveHttp extends OpenConnection {
  /** `GET path` with `Host: host`; the status and body of a Content-Length answer (bounded, 5 s). */
  get(path: string): Promise<{ status: number; body: string }>;
}

/** Opens a keep-alive HTTP connection to `port` for `host`. */
export async function openKeepAlive(port: number, host: string): Promise<KeepAliveHttp> {
  const c = await openConnection(port);
  return {
    socket: c.socket,
    closed: c.closed,
    async get(path) {
      c.reset();
      c.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      const complete = (b: Buffer) => {
        const text = b.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
        return end !== -1 && length !== undefined && text.length >= end + 4 + Number(length);
      };
      const raw = (await c.waitFor(`GET http://${host}${path} (keep-alive)`, complete)).toString('latin1');
      return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0), body: raw.slice(raw.indexOf('\r\n\r\n') + 4) };
    },
  };
}
