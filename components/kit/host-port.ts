import { isIP } from 'node:net';
import { ConfigError } from '../../instrumentation/config.ts';

/** A host (name, IPv4 or IPv6 literal, without brackets) and a TCP or UDP port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `host:port` for logs and URLs, with an IPv6 literal in brackets (`[::1]:9464`). */
export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * What an address is for, which decides the hosts it may name:
 * - `listen`: an IP literal or `localhost`; `:PORT` means every interface (`0.0.0.0`); port 0 lets the kernel choose;
 * - `dial`: any host name or IP literal, port 1..65535;
 * - `dial-ip`: an IP literal only (resolvers are never looked up by name), port 1..65535.
 */
export type AddressUse = 'listen' | 'dial' | 'dial-ip';

/** A flag or variable holding an address that cannot be used; the message names it and gives an example. */
export class HostPortError extends ConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'HostPortError';
  }
}

/**
 * Parses `HOST:PORT`, `[V6]:PORT`, a bare IPv6 literal (with `defaultPort`) or, to listen, `:PORT`.
 * @param what the flag or variable, for the message (`--metrics`, `PODTRACE_METRICS_ADDR`).
 * @param opts.defaultPort the port when none is written (DNS upstreams: 53); without it the port is required.
 * @throws HostPortError naming `what` for anything else, a port outside 0..65535, or a host `use` does not allow.
 */
export function parseHostPort(raw: string, what: string, use: AddressUse, opts: { defaultPort?: number } = {}): HostPort {
  const s = raw.trim();
  const example = use === 'dial' ? 'collector.example:4318 or [::1]:7000' : '127.0.0.1:9464 or [::1]:9464';
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s) ?? (isIP(s) === 6 ? [s, s, undefined] : /^([^:[\]]*)(?::(\d{1,5}))?$/.exec(s));
  if (!m) throw new HostPortError(`${what} "${raw}": expected HOST:PORT, e.g. ${example}`);
  let host = m[1] as string;
  if (host === '') {
    if (use !== 'listen') throw new HostPortError(`${what} "${raw}": the host is missing; expected HOST:PORT, e.g. ${example}`);
    host = '0.0.0.0';
  }
  if (m[2] === undefined && opts.defaultPort === undefined) throw new HostPortError(`${what} "${raw}": the port is missing; expected HOST:PORT, e.g. ${example}`);
  const port = m[2] === undefined ? (opts.defaultPort as number) : Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new HostPortError(`${what} "${raw}": the port must be 0..65535`);
  if (use !== 'listen' && port === 0) throw new HostPortError(`${what} "${raw}": port 0 cannot be dialled`);
  if (use === 'dial-ip' && isIP(host) === 0) throw new HostPortError(`${what} "${raw}": the host must be an IP address (it is never looked up by name)`);
  if (use === 'listen' && isIP(host) === 0 && host !== 'localhost') throw new HostPortError(`${what} "${raw}": the host must be an IP address or localhost`);
  return { host, port };
}
