import { readVarint, varintLength, writeVarint } from './varint.ts';

/**
 * The Capsule Protocol (RFC 9297 §3.2) as CONNECT-IP uses it on an HTTP/2 stream: a capsule is
 * `Type (i) | Length (i) | Value (Length bytes)`. This file frames and parses capsules as a byte stream
 * arrives in arbitrary chunks; the capsule types themselves are in connect-ip-capsules.ts.
 */

/** Capsule types used here: DATAGRAM (RFC 9297 §3.5), ADDRESS_ASSIGN / ADDRESS_REQUEST / ROUTE_ADVERTISEMENT (RFC 9484 §4.7). */
export const CapsuleType = {
  DATAGRAM: 0x00,
  ADDRESS_ASSIGN: 0x01,
  ADDRESS_REQUEST: 0x02,
  ROUTE_ADVERTISEMENT: 0x03,
} as const;

/** One capsule: its type and value (a view into the received bytes; copy it to keep it past the next chunk). */
export interface Capsule {
  readonly type: number;
  readonly value: Uint8Array;
}

/** A byte stream that is not a valid capsule sequence (RFC 9297 §3.3: the stream is then aborted). */
export class CapsuleError extends Error {
  override readonly name = 'CapsuleError';
}

/**
 * Largest capsule value accepted, in bytes: an IPv6 jumbogram-free IP packet (65535 + 40 header bytes)
 * plus its context ID, with room to spare. A longer declared length is malformed for this endpoint.
 */
export const MAX_CAPSULE_VALUE = 70_000;

/**
 * Encodes one capsule.
 * @returns `Type | Length | Value` in a new buffer.
 * @throws RangeError for a negative or too large type.
 */
export function encodeCapsule(type: number, value: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(varintLength(type) + varintLength(value.length) + value.length);
  let o = writeVarint(out, 0, type);
  o = writeVarint(out, o, value.length);
  out.set(value, o);
  return out;
}

/** What the parser holds between chunks when nothing is pending (shared: no allocation per chunk). */
const EMPTY = Buffer.alloc(0);

/**
 * Incremental capsule parser: feed it the stream's chunks in order, get whole capsules back. A capsule
 * split across chunks is held until complete; unknown types are returned too (the caller skips them,
 * RFC 9297 §3.2: "an endpoint that receives a capsule with an unknown type MUST silently drop it").
 */
export class CapsuleParser {
  private pending: Buffer = EMPTY;

  /** Bytes held for a capsule not yet complete. */
  get buffered(): number {
    return this.pending.length;
  }

  /**
   * Parses what `chunk` completes.
   * @returns the capsules completed by this chunk, in order.
   * @throws CapsuleError when a declared length exceeds {@link MAX_CAPSULE_VALUE} or a varint is not
   *   representable; the parser is unusable afterwards (the stream must be aborted).
   */
  push(chunk: Uint8Array): Capsule[] {
    const buf = this.pending.length !== 0 ? Buffer.concat([this.pending, chunk]) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: Capsule[] = [];
    let o = 0;
    for (;;) {
      let t, l;
      try {
        t = readVarint(buf, o);
        l = t && readVarint(buf, t.next);
      } catch (e) {
        throw new CapsuleError((e as Error).message);
      }
      if (!t || !l) break;
      if (l.value > MAX_CAPSULE_VALUE) throw new CapsuleError(`capsule of type 0x${t.value.toString(16)} declares ${l.value} bytes (limit ${MAX_CAPSULE_VALUE})`);
      const end = l.next + l.value;
      if (end > buf.length) break;
      out.push({ type: t.value, value: buf.subarray(l.next, end) });
      o = end;
    }
    // Copy the unparsed tail: the caller's chunk may be reused after this call.
    this.pending = o === buf.length ? EMPTY : Buffer.from(buf.subarray(o));
    return out;
  }

  /**
   * Tells the parser the stream ended (HTTP/2 END_STREAM). RFC 9297 §3.3: a capsule stream that ends
   * inside a capsule is malformed, whether it stops inside the Type or Length varint or before the
   * Value's last byte.
   * @throws CapsuleError saying where the stream stopped, when bytes of an incomplete capsule are held.
   */
  end(): void {
    const held = this.pending;
    if (held.length === 0) return;
    // push() only keeps a tail whose varints are representable, so these reads cannot throw.
    const t = readVarint(held, 0);
    const l = t && readVarint(held, t.next);
    if (!t) throw new CapsuleError(`the capsule stream ended inside a capsule's Type varint (${held.length} of ${1 << ((held[0] as number) >>> 6)} bytes)`);
    if (!l) throw new CapsuleError(`the capsule stream ended inside the Length varint of a capsule of type 0x${t.value.toString(16)}`);
    throw new CapsuleError(`the capsule stream ended inside a capsule of type 0x${t.value.toString(16)}: ${held.length - l.next} of ${l.value} value bytes`);
  }
}
