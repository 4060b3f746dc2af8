/**
 * Reads the SNI host name from a TLS ClientHello without terminating TLS, for the components that route
 * by it: the ops proxy (seed 001: routing names are "matched against Host/SNI"; `https` is passthrough) and
 * the trc edge (seed 002 section F, SNI routing). Parses by hand: the handshake records
 * (type 22, version 3.x, 1..2^14 bytes each) are reassembled, since a client may split its ClientHello
 * over several records as well as over several TCP segments; then the handshake header (type 1
 * ClientHello, 24-bit length), version, random, session id, cipher suites, compression methods and the
 * extensions, looking for `server_name` (type 0) with a `host_name` entry (type 0).
 */

/** What the first bytes of an https connection are. */
export type ClientHelloResult =
  | { readonly kind: 'sni'; readonly name: string }
  /** A complete ClientHello without a server_name extension. */
  | { readonly kind: 'no_sni' }
  /** Not a TLS handshake, or a malformed ClientHello. */
  | { readonly kind: 'not_tls'; readonly why: string }
  /** Valid so far; more bytes are needed. */
  | { readonly kind: 'incomplete' };

/** Largest TLS plaintext record body (RFC 8446, 5.1). */
const MAX_RECORD_BYTES = 16384;

/**
 * Most bytes read before deciding: one full-size record with its 5-byte header. A ClientHello split
 * over several records must fit in this too (with each record's header); longer is not routed.
 */
export const MAX_CLIENT_HELLO_BYTES = MAX_RECORD_BYTES + 5;

/**
 * Most records a ClientHello may be split into (a real client splits into a few, no smaller than 512
 * bytes each); it bounds the work of looking at the bytes again as each segment arrives.
 */
export const MAX_CLIENT_HELLO_RECORDS = 64;

/**
 * Looks at the bytes received so far on an https connection.
 * @returns `incomplete` until the whole ClientHello has arrived (however it is split into records and
 *   segments); never throws.
 */
export function readClientHello(buf: Buffer): ClientHelloResult {
  const fragments: Buffer[] = [];
  let have = 0;
  let need = -1; // handshake message length with its 4-byte header, once known
  for (let at = 0; ; ) {
    if (buf.length > at && buf[at] !== 0x16) return { kind: 'not_tls', why: at === 0 ? 'first byte is not a TLS handshake record' : 'a record other than a handshake before the ClientHello ended' };
    if (buf.length > at + 1 && buf[at + 1] !== 0x03) return { kind: 'not_tls', why: 'not a TLS record version' };
    if (buf.length > 5 && buf[5] !== 0x01) return { kind: 'not_tls', why: 'first handshake message is not a ClientHello' };
    if (buf.length < at + 5) return { kind: 'incomplete' };
    if (fragments.length === MAX_CLIENT_HELLO_RECORDS) return { kind: 'not_tls', why: `ClientHello split over more than ${MAX_CLIENT_HELLO_RECORDS} records` };
    const length = buf.readUInt16BE(at + 3);
    if (length === 0 || length > MAX_RECORD_BYTES) return { kind: 'not_tls', why: `record length ${length} not in 1..${MAX_RECORD_BYTES}` };
    if (buf.length < at + 5 + length) return { kind: 'incomplete' };
    fragments.push(buf.subarray(at + 5, at + 5 + length));
    have += length;
    at += 5 + length;
    if (need < 0 && have >= 4) {
      const head = fragments.length === 1 ? (fragments[0] as Buffer) : Buffer.concat(fragments);
      need = 4 + head.readUIntBE(1, 3);
      if (need > MAX_CLIENT_HELLO_BYTES) return { kind: 'not_tls', why: 'ClientHello too long' };
    }
    if (need >= 0 && have >= need) {
      const message = fragments.length === 1 ? (fragments[0] as Buffer) : Buffer.concat(fragments);
      try {
        return parseClientHello(message.subarray(4, need));
      } catch (e) {
        return { kind: 'not_tls', why: (e as Error).message };
      }
    }
  }
}

/** The body of a ClientHello handshake message (after its 4-byte header). */
function parseClientHello(body: Buffer): ClientHelloResult {
  const hello = new Reader(body);
  hello.skip(2 + 32); // legacy_version, random
  hello.skip(hello.u8()); // session id
  hello.skip(hello.u16()); // cipher suites
  hello.skip(hello.u8()); // compression methods
  if (hello.left() === 0) return { kind: 'no_sni' }; // no extensions at all
  const ext = new Reader(hello.bytes(hello.u16()));
  while (ext.left() > 0) {
    const type = ext.u16();
    const body = new Reader(ext.bytes(ext.u16()));
    if (type !== 0) continue;
    const list = new Reader(body.bytes(body.u16()));
    while (list.left() > 0) {
      const nameType = list.u8();
      const name = list.bytes(list.u16());
      if (nameType === 0) {
        if (name.length === 0) return { kind: 'no_sni' };
        return { kind: 'sni', name: name.toString('latin1') };
      }
    }
    return { kind: 'no_sni' };
  }
  return { kind: 'no_sni' };
}

/** Bounds-checked big-endian reader; every read past the end throws. */
class Reader {
  private at = 0;
  private readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  left(): number {
    return this.buf.length - this.at;
  }
  private need(n: number): void {
    if (n > this.left()) throw new Error('ClientHello truncated');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.at++] as number;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.at += n;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
}
