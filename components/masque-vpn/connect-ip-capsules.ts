import { CapsuleError, CapsuleType, encodeCapsule } from './capsule.ts';
import { readVarint, varintLength, writeVarint } from './varint.ts';

/**
 * The CONNECT-IP capsule values (RFC 9484 §4.7) and the DATAGRAM capsule's payload (RFC 9297 §3.5,
 * RFC 9484 §6): `Context ID (i) | Payload`, where context 0 carries one full IP packet.
 * Addresses are byte arrays (4 bytes IPv4, 16 bytes IPv6).
 */

/** One Assigned Address (RFC 9484 §4.7.1). */
export interface AssignedAddress {
  readonly requestId: number;
  /** 4 or 6. */
  readonly version: 4 | 6;
  readonly address: Uint8Array;
  readonly prefixLength: number;
}

/** One IP Address Range (RFC 9484 §4.7.3); `ipProtocol` 0 means every protocol. */
export interface AddressRange {
  readonly version: 4 | 6;
  readonly start: Uint8Array;
  readonly end: Uint8Array;
  readonly ipProtocol: number;
}

const addrLen = (v: number): number => (v === 4 ? 4 : v === 6 ? 16 : -1);

/** Encodes a DATAGRAM capsule with context ID 0 around one IP packet (RFC 9484 §6). */
export function encodeIpDatagram(packet: Uint8Array): Buffer {
  // Context ID 0 is the one-byte varint 0x00: Type 0x00 | Length | 0x00 | packet.
  const len = packet.length + 1;
  const out = Buffer.allocUnsafe(1 + varintLength(len) + len);
  out[0] = CapsuleType.DATAGRAM;
  let o = writeVarint(out, 1, len);
  out[o++] = 0;
  out.set(packet, o);
  return out;
}

/**
 * Splits a DATAGRAM capsule value into its context ID and payload.
 * @throws CapsuleError for an empty value or an unreadable context ID.
 */
export function decodeDatagram(value: Uint8Array): { contextId: number; payload: Uint8Array } {
  let c;
  try {
    c = readVarint(value, 0);
  } catch (e) {
    throw new CapsuleError(`DATAGRAM context ID: ${(e as Error).message}`);
  }
  if (!c) throw new CapsuleError('DATAGRAM capsule without a context ID');
  return { contextId: c.value, payload: value.subarray(c.next) };
}

/** Encodes an ADDRESS_ASSIGN capsule (RFC 9484 §4.7.1). @throws RangeError for a bad address length. */
export function encodeAddressAssign(addresses: readonly AssignedAddress[]): Buffer {
  const parts: number[] = [];
  for (const a of addresses) {
    if (a.address.length !== addrLen(a.version)) throw new RangeError(`IPv${a.version} address of ${a.address.length} bytes`);
    const id = Buffer.alloc(varintLength(a.requestId));
    writeVarint(id, 0, a.requestId);
    parts.push(...id, a.version, ...a.address, a.prefixLength);
  }
  return encodeCapsule(CapsuleType.ADDRESS_ASSIGN, Uint8Array.from(parts));
}

/** Encodes a ROUTE_ADVERTISEMENT capsule (RFC 9484 §4.7.3). @throws RangeError for a bad address length. */
export function encodeRouteAdvertisement(ranges: readonly AddressRange[]): Buffer {
  const parts: number[] = [];
  for (const r of ranges) {
    if (r.start.length !== addrLen(r.version) || r.end.length !== addrLen(r.version)) throw new RangeError(`IPv${r.version} range with a bad address length`);
    parts.push(r.version, ...r.start, ...r.end, r.ipProtocol);
  }
  return encodeCapsule(CapsuleType.ROUTE_ADVERTISEMENT, Uint8Array.from(parts));
}

function readVersion(value: Uint8Array, o: number, what: string): { version: 4 | 6; len: number } {
  const v = value[o];
  const len = v === undefined ? -1 : addrLen(v);
  if (len < 0) throw new CapsuleError(`${what}: IP version ${v ?? '(missing)'}`);
  if (o + 1 + len > value.length) throw new CapsuleError(`${what}: truncated address`);
  return { version: v as 4 | 6, len };
}

/** Decodes an ADDRESS_ASSIGN value. @throws CapsuleError for a truncated entry, a bad version or prefix length. */
export function decodeAddressAssign(value: Uint8Array): AssignedAddress[] {
  const out: AssignedAddress[] = [];
  let o = 0;
  while (o < value.length) {
    let id;
    try {
      id = readVarint(value, o);
    } catch (e) {
      throw new CapsuleError(`ADDRESS_ASSIGN: ${(e as Error).message}`);
    }
    if (!id) throw new CapsuleError('ADDRESS_ASSIGN: truncated request ID');
    const { version, len } = readVersion(value, id.next, 'ADDRESS_ASSIGN');
    const address = value.slice(id.next + 1, id.next + 1 + len);
    const prefixLength = value[id.next + 1 + len];
    if (prefixLength === undefined) throw new CapsuleError('ADDRESS_ASSIGN: truncated prefix length');
    if (prefixLength > len * 8) throw new CapsuleError(`ADDRESS_ASSIGN: prefix length ${prefixLength} for IPv${version}`);
    out.push({ requestId: id.value, version, address, prefixLength });
    o = id.next + 2 + len;
  }
  return out;
}

/** Decodes a ROUTE_ADVERTISEMENT value. @throws CapsuleError for a truncated entry, a bad version or a start after its end. */
export function decodeRouteAdvertisement(value: Uint8Array): AddressRange[] {
  const out: AddressRange[] = [];
  let o = 0;
  while (o < value.length) {
    const { version, len } = readVersion(value, o, 'ROUTE_ADVERTISEMENT');
    if (o + 2 + 2 * len > value.length) throw new CapsuleError('ROUTE_ADVERTISEMENT: truncated range');
    const start = value.slice(o + 1, o + 1 + len);
    const end = value.slice(o + 1 + len, o + 1 + 2 * len);
    if (Buffer.compare(start, end) > 0) throw new CapsuleError('ROUTE_ADVERTISEMENT: start address after end address');
    out.push({ version, start, end, ipProtocol: value[o + 1 + 2 * len] as number });
    o += 2 + 2 * len;
  }
  return out;
}
