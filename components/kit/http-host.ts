/**
 * Reads the `Host` header from the first bytes of an HTTP/1.x connection, for the components that route
 * by it: the ops proxy (seed 001: routing names are "matched against Host/SNI", protocol `http`) and the
 * trc edge's HTTP listeners. Only the request head is looked at; the bytes are then
 * forwarded untouched.
 */

/** What the first bytes of an http connection are. */
export type HttpHeadResult =
  | { readonly kind: 'host'; readonly host: string }
  /** A complete request head without a Host header. */
  | { readonly kind: 'no_host' }
  /** Not an HTTP/1.x request head, or one longer than {@link MAX_HEAD_BYTES}. */
  | { readonly kind: 'malformed'; readonly why: string }
  | { readonly kind: 'incomplete' };

/** Longest request head read while looking for Host. */
export const MAX_HEAD_BYTES = 16 * 1024;

const REQUEST_LINE = /^[A-Z]{1,16} \S{1,8192} HTTP\/1\.[01]$/;

/**
 * Looks at the bytes received so far on an http connection.
 * @returns `incomplete` until `\r\n\r\n` arrives; never throws.
 */
export function readHttpHead(buf: Buffer): HttpHeadResult {
  // Early rejection: a request line starts with an upper-case method token.
  const first = buf[0];
  if (first !== undefined && (first < 0x41 || first > 0x5a)) return { kind: 'malformed', why: 'not an HTTP request line' };
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return buf.length > MAX_HEAD_BYTES ? { kind: 'malformed', why: `request head longer than ${MAX_HEAD_BYTES} bytes` } : { kind: 'incomplete' };
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  if (!REQUEST_LINE.test(lines[0] as string)) return { kind: 'malformed', why: 'not an HTTP/1.x request line' };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) return { kind: 'malformed', why: 'header line without a name' };
    if (line.slice(0, colon).toLowerCase() === 'host') {
      const host = line.slice(colon + 1).trim();
      return host === '' ? { kind: 'no_host' } : { kind: 'host', host };
    }
  }
  return { kind: 'no_host' };
}

/**
 * Candidate routing names for a Host value, most specific first: the value itself (a name may contain
 * `:`), then without a trailing `:PORT`. Lower case.
 */
export function hostCandidates(host: string): string[] {
  const h = host.toLowerCase();
  const m = /^(.+):(\d{1,5})$/.exec(h);
  return m ? [h, m[1] as string] : [h];
}

const REASONS = { 400: 'Bad Request', 502: 'Bad Gateway', 503: 'Service Unavailable' } as const;

/**
 * A complete `HTTP/1.1 <status>` answer with a short plain-text body, closing the connection: 502 for a
 * name without a live peer or a failed tunnel, 503 when `--max-connections` is reached.
 */
export function httpError(status: keyof typeof REASONS, body: string): string {
  const reason = REASONS[status];
  const text = `${body}\n`;
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
}
