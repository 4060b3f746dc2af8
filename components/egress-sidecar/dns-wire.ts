/**
 * DNS wire format, read by hand on the hot path (seed 000 §1 "DNS Proxy"): the header, the question
 * (id, qname, qtype) and a bounds-checked walk over the remaining records, in tens of nanoseconds
 * where a full `dns-packet` decode costs about a microsecond. Every read is bounds-checked; name
 * compression pointers must point strictly backwards of the previous jump, so pointer loops end.
 */

/** Largest query the proxy accepts over UDP or TCP, in bytes; bigger ones are dropped as `oversized`. */
export const MAX_QUERY_BYTES = 4096;
/** Size of the fixed DNS header, in bytes. */
export const HEADER_BYTES = 12;
/** Classic DNS UDP payload limit without EDNS (RFC 1035), in bytes. */
export const CLASSIC_UDP_BYTES = 512;
/** Largest UDP payload the proxy ever sends, whatever EDNS asks for (bytes; RFC 6891 recommends 1232-4096). */
export const MAX_UDP_RESPONSE_BYTES = 4096;

/** Response codes the proxy produces or inspects. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
/** Record types the proxy inspects. */
export const QTYPE = { A: 1, AAAA: 28, OPT: 41 } as const;

const MAX_NAME_WIRE_BYTES = 255;
const MAX_POINTER_JUMPS = 32;

/** Why a packet was dropped without an answer (the `reason` of `otel_contracts_dns_packets_dropped_total`). */
export type WireDrop = 'malformed' | 'oversized' | 'not_a_query';

/** What the hot path needs of a query. */
export interface QueryInfo {
  /** The client's 16-bit message id. */
  readonly id: number;
  /**
   * Query name, lowercased, without the trailing dot; `''` for the root. Bytes outside printable
   * ASCII and `.` or `\` inside a label are escaped as `\DDD`, so such names match no policy pattern.
   */
  readonly name: string;
  readonly qtype: number;
  readonly qclass: number;
  /** Offset just past the question section. */
  readonly questionEnd: number;
  /** The client's EDNS UDP payload size (OPT record), or 512 without one; clamped to 512..4096. */
  readonly udpPayload: number;
  /** True when the query carried an OPT record. */
  readonly edns: boolean;
}

// Output slot of readName: avoids an allocation per call on the hot path.
let nameOut = '';
// The name is written here (lowercased, escaped) and turned into a string with one native call.
// 255 wire bytes escape to at most 4 characters each.
const scratch = Buffer.allocUnsafe(1024);

/** Slots of the recent-name cache (see {@link questionName}); a power of two. */
const NAME_SLOTS = 1024;
/** Longest question name the cache holds, in wire bytes (names longer are read every time). */
const NAME_SLOT_BYTES = 128;
/**
 * The recent-name cache: slot k holds the wire bytes of a question name (at k * {@link NAME_SLOT_BYTES} in
 * `slotBytes`, their count in `slotLength`, 0 for an empty slot) and the string `readName` made of them.
 * 128 KiB of bytes, and at most 1024 strings of at most 508 characters.
 */
const slotBytes = new Uint8Array(NAME_SLOTS * NAME_SLOT_BYTES);
const slotLength = new Uint16Array(NAME_SLOTS);
const slotName: string[] = new Array<string>(NAME_SLOTS).fill('');
/** FNV-1a, 32 bits: the cache's hash of a name's wire bytes. */
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** Big-endian 16-bit read; the caller has checked `i + 1 < buf.length`. */
function u16(buf: Buffer, i: number): number {
  return ((buf[i] as number) << 8) | (buf[i + 1] as number);
}

/**
 * Reads a (possibly compressed) domain name starting at `offset`.
 * @returns the offset just past the name in the original byte stream, or -1 when it is malformed
 *   (out of bounds, reserved label type, longer than 255 bytes, or a pointer that does not go back).
 *   The name is left in the module's output slot when `build` is true.
 */
function readName(buf: Buffer, offset: number, build: boolean): number {
  const len = buf.length;
  let p = offset;
  let next = -1; // where the name ends in the stream once the first pointer is followed
  let floor = offset; // pointers must jump strictly below the start of the current segment
  let jumps = 0;
  let wire = 1;
  let n = 0;
  for (;;) {
    if (p >= len) return -1;
    const b = buf[p] as number;
    if (b === 0) {
      if (next < 0) next = p + 1;
      break;
    }
    const kind = b & 0xc0;
    if (kind === 0xc0) {
      if (p + 1 >= len) return -1;
      const target = ((b & 0x3f) << 8) | (buf[p + 1] as number);
      if (target >= floor || ++jumps > MAX_POINTER_JUMPS) return -1;
      if (next < 0) next = p + 2;
      floor = target;
      p = target;
      continue;
    }
    if (kind !== 0) return -1; // 0x40 / 0x80: extended label types, obsolete
    const end = p + 1 + b;
    if (end > len) return -1;
    wire += b + 1;
    if (wire > MAX_NAME_WIRE_BYTES) return -1;
    if (build) {
      if (n > 0) scratch[n++] = 0x2e;
      for (let i = p + 1; i < end; i++) {
        const c = buf[i] as number;
        if (c >= 0x41 && c <= 0x5a) scratch[n++] = c | 0x20;
        else if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) scratch[n++] = c;
        else {
          // \DDD, as dig prints it: such a name matches no policy pattern.
          scratch[n++] = 0x5c;
          scratch[n++] = 0x30 + ((c / 100) | 0);
          scratch[n++] = 0x30 + (((c / 10) | 0) % 10);
          scratch[n++] = 0x30 + (c % 10);
        }
      }
    }
    p = end;
  }
  if (build) nameOut = n === 0 ? '' : scratch.toString('latin1', 0, n);
  return next;
}

/**
 * Reads the question's name, as `readName(buf, HEADER_BYTES, true)` does, through the recent-name cache: a
 * name without compression pointers (what resolvers send) whose exact wire bytes were read recently gets
 * the string made then, found by a hash of the bytes and confirmed by comparing them, with no string made
 * and no native call. V8 keeps a string's hash, so the policy's Map lookups of a reused name hash nothing.
 * Anything else (a miss, a pointer, a reserved label type) goes through `readName`; a miss then fills the slot.
 * @returns as `readName`; the name is left in `nameOut`.
 */
function questionName(buf: Buffer): number {
  const len = buf.length;
  // The label lengths only: where the name ends, or a pointer / reserved type for readName to judge.
  let p = HEADER_BYTES;
  for (;;) {
    if (p >= len) return -1;
    const b = buf[p] as number;
    if (b === 0) break;
    if (b > 63) return readName(buf, HEADER_BYTES, true);
    p += b + 1;
  }
  const wire = p + 1 - HEADER_BYTES;
  if (wire > MAX_NAME_WIRE_BYTES) return -1;
  let hash = FNV_OFFSET;
  for (let i = HEADER_BYTES; i <= p; i++) hash = Math.imul(hash ^ (buf[i] as number), FNV_PRIME);
  const slot = (hash ^ (hash >>> 16)) & (NAME_SLOTS - 1);
  const at = slot * NAME_SLOT_BYTES;
  if (slotLength[slot] === wire) {
    let i = HEADER_BYTES;
    let k = at;
    while (i <= p && slotBytes[k] === buf[i]) {
      i++;
      k++;
    }
    if (i > p) {
      nameOut = slotName[slot] as string;
      return p + 1;
    }
  }
  const next = readName(buf, HEADER_BYTES, true);
  if (next >= 0 && wire <= NAME_SLOT_BYTES) {
    for (let i = 0; i < wire; i++) slotBytes[at + i] = buf[HEADER_BYTES + i] as number;
    slotLength[slot] = wire;
    slotName[slot] = nameOut;
  }
  return next;
}

/**
 * Reads a query by hand: header checks, the single question, then a bounds-checked walk over every
 * answer, authority and additional record, which must end exactly at the end of the packet.
 *
 * @returns the query, or why it must be dropped: `oversized` above {@link MAX_QUERY_BYTES},
 *   `not_a_query` for a response or an opcode other than QUERY, `malformed` for anything else wrong
 *   (short header, QDCOUNT other than 1, truncated or looping names, records past the end, trailing bytes).
 */
export function parseQuery(buf: Buffer): QueryInfo | WireDrop {
  const len = buf.length;
  if (len > MAX_QUERY_BYTES) return 'oversized';
  if (len < HEADER_BYTES) return 'malformed';
  const flags = buf[2] as number;
  if ((flags & 0x80) !== 0 || (flags & 0x78) !== 0) return 'not_a_query';
  if (u16(buf, 4) !== 1) return 'malformed';
  const records = u16(buf, 6) + u16(buf, 8);
  const total = records + u16(buf, 10);
  let off = questionName(buf);
  if (off < 0 || off + 4 > len) return 'malformed';
  const name = nameOut;
  const qtype = u16(buf, off);
  const qclass = u16(buf, off + 2);
  off += 4;
  const questionEnd = off;
  let udpPayload = CLASSIC_UDP_BYTES;
  let edns = false;
  for (let i = 0; i < total; i++) {
    off = readName(buf, off, false);
    if (off < 0 || off + 10 > len) return 'malformed';
    if (i >= records && u16(buf, off) === QTYPE.OPT) {
      if (edns) return 'malformed'; // RFC 6891: at most one OPT record
      edns = true;
      udpPayload = Math.min(MAX_UDP_RESPONSE_BYTES, Math.max(CLASSIC_UDP_BYTES, u16(buf, off + 2)));
    }
    off += 10 + u16(buf, off + 8);
    if (off > len) return 'malformed';
  }
  if (off !== len) return 'malformed';
  return { id: u16(buf, 0), name, qtype, qclass, questionEnd, udpPayload, edns };
}

/** True when `buf` has a response header (12 bytes, QR set). */
export function isResponse(buf: Buffer): boolean {
  return buf.length >= HEADER_BYTES && ((buf[2] as number) & 0x80) !== 0;
}

/** RCODE of a message with a header. */
export function rcodeOf(buf: Buffer): number {
  return (buf[3] as number) & 0x0f;
}

/** TC bit of a message with a header. */
export function isTruncated(buf: Buffer): boolean {
  return ((buf[2] as number) & 0x02) !== 0;
}

/**
 * True when a response echoes the query's question: QDCOUNT 1 and the same name (ASCII
 * case-insensitively), type and class, byte for byte; or, for an error answer only, no question.
 * No string is built: the question of a query is never compressed, so the bytes compare directly.
 */
export function echoesQuestion(response: Buffer, query: Buffer, questionEnd: number): boolean {
  const qd = u16(response, 4);
  if (qd === 0) return rcodeOf(response) !== RCODE.NOERROR;
  if (qd !== 1 || response.length < questionEnd) return false;
  // Upstreams echo the question as sent: byte for byte first, case-insensitively only on a difference.
  for (let i = HEADER_BYTES; i < questionEnd; i++) if (response[i] !== query[i]) return sameQuestionIgnoringCase(response, query, questionEnd);
  return true;
}

/** True when bytes 12 up to `questionEnd` of the two messages are equal, ASCII letters compared case-insensitively. */
function sameQuestionIgnoringCase(response: Buffer, query: Buffer, questionEnd: number): boolean {
  for (let i = HEADER_BYTES; i < questionEnd; i++) {
    let a = response[i] as number;
    let b = query[i] as number;
    if (a === b) continue;
    if (a >= 0x41 && a <= 0x5a) a |= 0x20;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (a !== b) return false;
  }
  return true;
}

/** A message with the 2-byte length prefix of DNS over TCP (RFC 7766). */
export function tcpFrame(message: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(2 + message.length);
  frame.writeUInt16BE(message.length, 0);
  message.copy(frame, 2);
  return frame;
}

/**
 * Builds an error answer to a query by hand: the header and question copied, QR and RA set, RD kept,
 * the given RCODE, no records but an OPT record (payload 1232) when the query carried EDNS.
 * Used for NXDOMAIN (policy denial) and SERVFAIL (upstream failure).
 */
export function buildErrorResponse(query: Buffer, info: QueryInfo, rcode: number): Buffer {
  const optBytes = info.edns ? 11 : 0;
  const out = Buffer.allocUnsafe(info.questionEnd + optBytes);
  query.copy(out, 0, 0, info.questionEnd);
  out[2] = 0x80 | ((query[2] as number) & 0x01); // QR, opcode QUERY, RD copied
  out[3] = 0x80 | (rcode & 0x0f); // RA
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(info.edns ? 1 : 0, 10);
  if (info.edns) {
    const o = info.questionEnd;
    out[o] = 0; // root name
    out.writeUInt16BE(QTYPE.OPT, o + 1);
    out.writeUInt16BE(1232, o + 3);
    out.writeUInt32BE(0, o + 5); // extended rcode, version, flags
    out.writeUInt16BE(0, o + 9);
  }
  return out;
}
