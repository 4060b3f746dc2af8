/**
 * The server's IPv4 address pool: a CIDR whose first host address is the server's TUN address and whose
 * other host addresses (network and broadcast excluded) are handed to clients one each (RFC 9484 §4.7.1
 * ADDRESS_ASSIGN, prefix /32), the next free one after the last handed out, and returned when the client
 * leaves. `masque_vpn_ip_pool_{total,used,available}` (seed 004, "Resource Metrics") count the client
 * addresses.
 */

/** A bad `--pool` value. */
export class PoolError extends Error {
  override readonly name = 'PoolError';
}

/** A parsed IPv4 CIDR: network address as an unsigned 32-bit number and prefix length. */
export interface Cidr4 {
  readonly network: number;
  readonly prefix: number;
}

/** Dotted quad → unsigned 32-bit number. @throws PoolError for anything but four 0-255 decimal parts. */
export function ipv4ToNumber(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new PoolError(`not an IPv4 address: ${JSON.stringify(s)}`);
  return parts.reduce((a, p) => a * 256 + Number(p), 0);
}

/** Unsigned 32-bit number → dotted quad. */
export function numberToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

/** Unsigned 32-bit number → 4 bytes, network order. */
export function numberToBytes(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** 4 bytes → unsigned 32-bit number. */
export function bytesToNumber(b: Uint8Array): number {
  return (((b[0] as number) << 24) >>> 0) + ((b[1] as number) << 16) + ((b[2] as number) << 8) + (b[3] as number);
}

/**
 * Parses `A.B.C.D/N` with N in `min..max`.
 * @param flag the flag named in errors (`--pool`, `--route`).
 * @throws PoolError naming the problem (not a CIDR, host bits set, prefix out of range).
 */
export function parseIpv4Cidr(s: string, flag: string, min = 0, max = 32): Cidr4 {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m) throw new PoolError(`${flag} ${JSON.stringify(s)}: expected an IPv4 CIDR such as 10.99.0.0/24`);
  const prefix = Number(m[2]);
  if (prefix < min || prefix > max) throw new PoolError(`${flag} ${s}: prefix /${prefix} out of range (${min}..${max})`);
  const addr = ipv4ToNumber(m[1] as string);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((addr & ~mask) >>> 0 !== 0) throw new PoolError(`${flag} ${s}: host bits set (did you mean ${numberToIpv4((addr & mask) >>> 0)}/${prefix}?)`);
  return { network: addr, prefix };
}

/**
 * Parses a `--pool` value: `A.B.C.D/N` with N in 8..30 (room for the server and at least one client).
 * @throws PoolError as {@link parseIpv4Cidr}.
 */
export function parseCidr4(s: string): Cidr4 {
  return parseIpv4Cidr(s, '--pool', 8, 30);
}

/** The pool of client addresses of one server. */
export class AddressPool {
  readonly cidr: Cidr4;
  /** The server's own (TUN) address: the first host address. */
  readonly serverAddress: number;
  private readonly first: number;
  private readonly last: number;
  private readonly used = new Set<number>();
  private next: number;

  /** @throws PoolError as {@link parseCidr4}. */
  constructor(cidr: string) {
    this.cidr = parseCidr4(cidr);
    const size = 2 ** (32 - this.cidr.prefix);
    this.serverAddress = this.cidr.network + 1;
    this.first = this.cidr.network + 2;
    this.last = this.cidr.network + size - 2;
    this.next = this.first;
  }

  /** Client addresses in the pool (host addresses minus the server's). */
  get total(): number {
    return this.last - this.first + 1;
  }
  get usedCount(): number {
    return this.used.size;
  }
  get available(): number {
    return this.total - this.used.size;
  }

  /**
   * Takes the lowest free address at or after the last one handed out (wrapping), so that a returned
   * address is not reused at once.
   * @returns the address, or undefined when the pool is exhausted.
   */
  allocate(): number | undefined {
    if (this.used.size >= this.total) return undefined;
    for (let i = 0; i < this.total; i++) {
      const a = this.next;
      this.next = a >= this.last ? this.first : a + 1;
      if (!this.used.has(a)) {
        this.used.add(a);
        return a;
      }
    }
    return undefined;
  }

  /** Returns `address` to the pool; an address not in use is ignored. */
  release(address: number): void {
    this.used.delete(address);
  }
}
