/**
 * QUIC variable-length integers (RFC 9000 §16), the integer encoding of HTTP capsules (RFC 9297 §3.2)
 * and of the CONNECT-IP capsule fields (RFC 9484 §4.7). Two high bits give the length: 1, 2, 4 or 8 bytes.
 * Values are JavaScript numbers: up to 2^53 - 1 round-trips exactly, which covers every capsule length
 * this component accepts.
 */

/** Largest value a varint can carry that a JavaScript number holds exactly. */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER;

/** Bytes needed to encode `v` (1, 2, 4 or 8). @throws RangeError for a negative, fractional or too large value. */
export function varintLength(v: number): 1 | 2 | 4 | 8 {
  if (!Number.isInteger(v) || v < 0 || v > MAX_VARINT) throw new RangeError(`varint out of range: ${v}`);
  if (v < 0x40) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x40000000) return 4;
  return 8;
}

/**
 * Writes `v` into `buf` at `offset`.
 * @returns the offset after it.
 * @throws RangeError as {@link varintLength}, or when `buf` is too short.
 */
export function writeVarint(buf: Uint8Array, offset: number, v: number): number {
  const n = varintLength(v);
  if (offset + n > buf.length) throw new RangeError('buffer too short for varint');
  if (n === 1) {
    buf[offset] = v;
  } else if (n === 2) {
    buf[offset] = 0x40 | (v >>> 8);
    buf[offset + 1] = v & 0xff;
  } else if (n === 4) {
    buf[offset] = 0x80 | (v >>> 24);
    buf[offset + 1] = (v >>> 16) & 0xff;
    buf[offset + 2] = (v >>> 8) & 0xff;
    buf[offset + 3] = v & 0xff;
  } else {
    const hi = Math.floor(v / 2 ** 32);
    const lo = v >>> 0;
    buf[offset] = 0xc0 | (hi >>> 24);
    buf[offset + 1] = (hi >>> 16) & 0xff;
    buf[offset + 2] = (hi >>> 8) & 0xff;
    buf[offset + 3] = hi & 0xff;
    buf[offset + 4] = lo >>> 24;
    buf[offset + 5] = (lo >>> 16) & 0xff;
    buf[offset + 6] = (lo >>> 8) & 0xff;
    buf[offset + 7] = lo & 0xff;
  }
  return offset + n;
}

/**
 * Reads a varint from `buf` at `offset`.
 * @returns `{ value, next }`, or `undefined` when `buf` ends before the varint does (wait for more bytes).
 * @throws RangeError for an 8-byte value above 2^53 - 1 (not representable; a malformed peer).
 */
export function readVarint(buf: Uint8Array, offset: number): { value: number; next: number } | undefined {
  if (offset >= buf.length) return undefined;
  const first = buf[offset] as number;
  const n = 1 << (first >>> 6);
  if (offset + n > buf.length) return undefined;
  let value = first & 0x3f;
  for (let i = 1; i < n; i++) value = value * 256 + (buf[offset + i] as number);
  if (value > MAX_VARINT) throw new RangeError('varint above 2^53 - 1');
  return { value, next: offset + n };
}
