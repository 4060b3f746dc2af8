/**
 * The ops proxy's tunnel wire protocol, version 1 (documented in README.md, "Wire protocol"): every
 * connection to the `--control` port opens with one JSON line (UTF-8, at most {@link MAX_LINE_BYTES}
 * bytes, `\n`-terminated) saying what it is:
 *
 *   control  {"op":"register","v":1,"token":T,"names":[N,...]}   then more register lines (refreshes);
 *            the listening peer answers {"op":"registered","names":[...]} (the names routed to this
 *            connection), after {"op":"error","error":E,"held":[...]} when some were held by another
 *            live connection, and sends {"op":"forward",...}
 *   data     {"op":"data","v":1,"token":T,"proxy_id":P}            then raw bytes both ways
 *            {"op":"data","v":1,"token":T,"proxy_id":P,"error":E}  the backend could not be dialled
 *
 * This file holds the message shapes, their strict decoding and the line splitter; nothing here does I/O.
 */

/** Protocol version carried by `register` and `data`. */
export const PROTOCOL_VERSION = 1;
/** Longest accepted line, newline excluded: anything longer is malformed. */
export const MAX_LINE_BYTES = 8192;
/** Most routing names one `register` may carry. */
export const MAX_NAMES_PER_REGISTER = 256;
/** Longest routing name (a DNS name's limit, and a Host header's practical one). */
export const MAX_NAME_LENGTH = 253;

/** Peer → listener, first and refresh message of a control connection. */
export interface RegisterMessage {
  readonly op: 'register';
  readonly token: string;
  /** Routing names, canonical (lower case). */
  readonly names: readonly string[];
}
/** Peer → listener, first line of a DATA connection. */
export interface DataMessage {
  readonly op: 'data';
  readonly token: string;
  readonly proxy_id: string;
  /** Set when the connecting peer could not reach the backend; the tunnel then fails with `data_io_error`. */
  readonly error?: string;
}
/** Listener → peer: open a DATA connection carrying `proxy_id` to the backend of `name`. */
export interface ForwardMessage {
  readonly op: 'forward';
  readonly proxy_id: string;
  readonly name: string;
}
/** Listener → peer: the names now routed to this control connection. */
export interface RegisteredMessage {
  readonly op: 'registered';
  readonly names: readonly string[];
}
/**
 * Listener → peer: right before it closes the connection (`unauthorized`, `malformed: …`, `connection
 * limit reached`), or, with `held`, the names of a REGISTER that another live connection holds (the
 * connection stays open; the next refresh asks again).
 */
export interface ErrorMessage {
  readonly op: 'error';
  readonly error: string;
  /** Names refused because another live control connection holds them. */
  readonly held?: readonly string[];
}

/** A message from a connecting peer. */
export type PeerMessage = RegisterMessage | DataMessage;
/** A message from a listening peer. */
export type ListenerMessage = ForwardMessage | RegisteredMessage | ErrorMessage;

/** A line that breaks the protocol; the message says what was wrong (no secret in it). */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

/** Characters a Host header's reg-name may hold (RFC 3986 unreserved, sub-delims, `%`), plus `:` and brackets. */
const NAME_RE = /^[a-z0-9\-._~!$&'()*+,;=%:[\]]+$/;

/**
 * Canonical routing name: lower case, 1..253 characters a Host header allows (so `:` is fine).
 * @returns the name, or undefined when it is not one.
 */
export function canonicalName(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_NAME_LENGTH) return undefined;
  const name = raw.toLowerCase();
  return NAME_RE.test(name) ? name : undefined;
}

function object(line: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new WireError('not a JSON line');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new WireError('not a JSON object');
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, key: string, max = 512): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new WireError(`"${key}" must be a string of 1..${max} characters`);
  return v;
}

/**
 * Decodes one line sent by a connecting peer.
 * @throws WireError for anything but a well-formed v1 `register` or `data` (bad JSON, wrong version, a
 *   bad routing name, too many names, missing fields).
 */
export function decodePeerMessage(line: string): PeerMessage {
  const o = object(line);
  if (o.v !== PROTOCOL_VERSION) throw new WireError(`unsupported protocol version ${JSON.stringify(o.v)} (expected ${PROTOCOL_VERSION})`);
  const token = typeof o.token === 'string' ? o.token : '';
  if (o.op === 'register') {
    if (!Array.isArray(o.names) || o.names.length === 0 || o.names.length > MAX_NAMES_PER_REGISTER) {
      throw new WireError(`"names" must list 1..${MAX_NAMES_PER_REGISTER} routing names`);
    }
    const names = o.names.map((n) => {
      const c = canonicalName(n);
      if (c === undefined) throw new WireError(`"${String(n).slice(0, 64)}" is not a routing name (1..${MAX_NAME_LENGTH} characters a Host header allows)`);
      return c;
    });
    return { op: 'register', token, names: [...new Set(names)] };
  }
  if (o.op === 'data') {
    const proxy_id = str(o, 'proxy_id', 64);
    return o.error === undefined ? { op: 'data', token, proxy_id } : { op: 'data', token, proxy_id, error: str(o, 'error') };
  }
  throw new WireError(`unknown op ${JSON.stringify(o.op)}`);
}

/**
 * Decodes one line sent by a listening peer.
 * @throws WireError for anything but `forward`, `registered` or `error`.
 */
export function decodeListenerMessage(line: string): ListenerMessage {
  const o = object(line);
  if (o.op === 'forward') {
    const name = canonicalName(o.name);
    if (name === undefined) throw new WireError('"name" is not a routing name');
    return { op: 'forward', proxy_id: str(o, 'proxy_id', 64), name };
  }
  if (o.op === 'registered') {
    if (!Array.isArray(o.names)) throw new WireError('"names" must be a list');
    return { op: 'registered', names: o.names.filter((n): n is string => typeof n === 'string') };
  }
  if (o.op === 'error') {
    const error = str(o, 'error');
    if (!Array.isArray(o.held)) return { op: 'error', error };
    return { op: 'error', error, held: o.held.filter((n): n is string => typeof n === 'string') };
  }
  throw new WireError(`unknown op ${JSON.stringify(o.op)}`);
}

/** One message as its line, newline included. */
export function encode(message: PeerMessage | ListenerMessage): string {
  const withVersion = message.op === 'register' || message.op === 'data' ? { ...message, v: PROTOCOL_VERSION } : message;
  return `${JSON.stringify(withVersion)}\n`;
}

/**
 * Splits a byte stream into lines of at most {@link MAX_LINE_BYTES}, one at a time, so that a reader can
 * stop after the DATA line and take the bytes after it, untouched, as the tunnel's first payload.
 */
export class LineSplitter {
  private buffered: Buffer = Buffer.alloc(0);

  /** Adds received bytes. */
  append(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
  }

  /**
   * The next complete line, or undefined until one arrives.
   * @throws WireError when a line is (or grows) longer than {@link MAX_LINE_BYTES}.
   */
  next(): string | undefined {
    const nl = this.buffered.indexOf(0x0a);
    if (nl === -1) {
      if (this.buffered.length > MAX_LINE_BYTES) throw new WireError(`line longer than ${MAX_LINE_BYTES} bytes`);
      return undefined;
    }
    if (nl > MAX_LINE_BYTES) throw new WireError(`line longer than ${MAX_LINE_BYTES} bytes`);
    const line = this.buffered.subarray(0, nl).toString('utf8');
    this.buffered = this.buffered.subarray(nl + 1);
    return line;
  }

  /** Every complete line so far ({@link next} until undefined). @throws WireError as {@link next}. */
  push(chunk: Buffer): string[] {
    this.append(chunk);
    const lines: string[] = [];
    for (let line = this.next(); line !== undefined; line = this.next()) lines.push(line);
    return lines;
  }

  /** Bytes received after the last line taken. */
  rest(): Buffer {
    return this.buffered;
  }
}
