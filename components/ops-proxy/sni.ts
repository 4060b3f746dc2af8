/**
 * Reads the SNI host name from a TLS ClientHello without terminating TLS (seed 001: routing names are
 * "matched against Host/SNI"; protocol `https` is passthrough). Parses the first TLS record by hand:
 * record header (type 22 handshake, version 3.x, length), handshake header (type 1 ClientHello,
 * 24-bit length), then version, random, session id, cipher suites, compression methods and the
 * extensions, looking for `server_name` (type 0) with a `host_name` entry (type 0).
 */

/** What the first bytes of an https connection are. */
export type ClientHelloResult =
  | { readonly kind: 'sni'; readonly name: string }
  /** A complete ClientHello without a server_name extension. */
  | { readonly kind: 'no_sni' }
  /** Not a TLS handshake (or a ClientHello we cannot read: fragmented over records, malformed). */
  | { readonly kind: 'not_tls'; readonly why: string }
  /** Valid so far; more bytes are needed. */
  | { readonly kind: 'incomplete' };

/** Largest TLS record (2^14 plus the expansion allowed for ciphertext) plus its 5-byte header. */
export const MAX_CLIENT_HELLO_BYTES = 16384 + 2048 + 5;

/**
 * Looks at the bytes received so far on an https connection.
 * @returns `incomplete` until the first record is complete; never throws.
 */
export function readClientHello(buf: Buffer): ClientHelloResult {
  if (buf.length >= 1 && buf[0] !== 0x16) return { kind: 'not_tls', why: 'first byte is not a TLS handshake record' };
  if (buf.length >= 2 && buf[1] !== 0x03) return { kind: 'not_tls', why: 'not a TLS record version' };
  if (buf.length < 5) return { kind: 'incomplete' };
  const recordLength = buf.readUInt16BE(3);
  if (recordLength > MAX_CLIENT_HELLO_BYTES - 5) return { kind: 'not_tls', why: 'record too long' };
  if (buf.length >= 6 && buf[5] !== 0x01) return { kind: 'not_tls', why: 'first handshake message is not a ClientHello' };
  if (buf.length < 5 + recordLength) return { kind: 'incomplete' };
  const rec = buf.subarray(5, 5 + recordLength);
  try {
    return parseHandshake(rec);
  } catch (e) {
    return { kind: 'not_tls', why: (e as Error).message };
  }
}

function parseHandshake(rec: Buffer): ClientHelloResult {
  const r = new Reader(rec);
  r.u8(); // handshake type, checked above
  const length = r.u24();
  if (length > r.left()) return { kind: 'not_tls', why: 'ClientHello fragmented over several records' };
  const hello = new Reader(r.bytes(length));
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
  u24(): number {
    this.need(3);
    const v = this.buf.readUIntBE(this.at, 3);
    this.at += 3;
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
