import { isIP } from 'node:net';

/**
 * IP addresses as the bytes the PROXY protocol v2 header carries (network byte order): 4 bytes for IPv4,
 * 16 for IPv6. Node reports a socket's addresses as text (`127.0.0.1`, `::1`, `::ffff:10.0.0.5` on a
 * dual-stack listener, `fe80::1%eth0` with a zone), so the text is parsed here by hand.
 */

/** An address that is not an IPv4 or IPv6 literal (the message quotes it). */
export class IpAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpAddressError';
  }
}

/** An address reduced to its family and bytes: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) counts as IPv4. */
export interface IpBytes {
  readonly family: 4 | 6;
  /** 4 bytes (family 4) or 16 bytes (family 6), network byte order. */
  readonly bytes: Buffer;
}

function ipv4Bytes(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

/** The 16 bytes of an IPv6 literal without a zone; `isIP` has already accepted it. */
function ipv6Bytes(text: string): Buffer {
  const out = Buffer.alloc(16);
  let words = text;
  let tail: Buffer | undefined;
  const lastColon = words.lastIndexOf(':');
  if (words.slice(lastColon + 1).includes('.')) {
    tail = ipv4Bytes(words.slice(lastColon + 1));
    words = `${words.slice(0, lastColon + 1)}0:0`; // two placeholder words, overwritten below
  }
  const [head, rest] = words.includes('::') ? (words.split('::') as [string, string]) : [words, undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((w) => parseInt(w, 16)));
  const front = parse(head);
  const back = rest === undefined ? [] : parse(rest);
  front.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  back.forEach((w, i) => out.writeUInt16BE(w, 16 - (back.length - i) * 2));
  if (tail) tail.copy(out, 12);
  return out;
}

const MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

/**
 * Parses an address as Node reports it; a zone (`%eth0`) is dropped, an IPv4-mapped IPv6 address becomes
 * its IPv4 address.
 * @throws IpAddressError for anything that is not an IP literal (a host name, `undefined` text).
 */
export function parseIp(text: string): IpBytes {
  const plain = text.replace(/%.*$/, '');
  const family = isIP(plain);
  if (family === 4) return { family: 4, bytes: ipv4Bytes(plain) };
  if (family !== 6) throw new IpAddressError(`"${text}" is not an IP address`);
  const bytes = ipv6Bytes(plain);
  if (bytes.subarray(0, 12).equals(MAPPED_PREFIX)) return { family: 4, bytes: Buffer.from(bytes.subarray(12)) };
  return { family: 6, bytes };
}

/** The 16-byte IPv6 form of an address: IPv4 as `::ffff:a.b.c.d` (for a header that mixes families). */
export function asIpv6(ip: IpBytes): Buffer {
  return ip.family === 6 ? ip.bytes : Buffer.concat([MAPPED_PREFIX, ip.bytes]);
}
