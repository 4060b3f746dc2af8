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
