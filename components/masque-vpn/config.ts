import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { parseCidr4, parseIpv4Cidr, PoolError } from './pool.ts';
import { parseHostPort, type HostPort } from '../kit/host-port.ts';

/**
 * Command-line flags of `otel-contracts masque-vpn server` and `... client`, read into checked
 * configurations; certificate files are read here so a missing file fails at start-up with its flag named.
 * Addresses are parsed by the component kit (`parseHostPort`).
 */

/** A bad flag value, with the flag named. */
export class MasqueConfigError extends Error {
  override readonly name = 'MasqueConfigError';
}

/** A `HOST:PORT` address, host without brackets (the one shape every component uses). */
export type { HostPort };

/** PEM contents of the mTLS material. */
export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

/** `masque-vpn server` configuration. */
export interface ServerConfig {
  readonly listen: HostPort;
  /** IPv4 CIDR of the pool (validated). */
  readonly pool: string;
  readonly tun: string;
  readonly tls: TlsFiles;
  readonly metrics: HostPort;
  /** TUN MTU and largest packet accepted, bytes. */
  readonly mtu: number;
  /** Extra IPv4 CIDRs advertised besides the pool (the server's networks). */
  readonly routes: readonly string[];
}

/** `masque-vpn client` configuration. */
export interface ClientConfig {
  /** `https://HOST:PORT` of the server. */
  readonly server: URL;
  readonly tun: string;
  readonly tls: TlsFiles;
  readonly mtu: number;
  /** First reconnect delay, doubled per failure up to `maxBackoffMs`. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

function readPem(flag: string, path: string | undefined): Buffer {
  if (!path) throw new MasqueConfigError(`${flag} is required (PEM file)`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new MasqueConfigError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function intIn(flag: string, v: string | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new MasqueConfigError(`${flag} ${JSON.stringify(v)}: expected an integer in ${min}..${max}`);
  return n;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function program(name: string): Command {
  return new Command(name).exitOverride().allowExcessArguments(false).configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

/**
 * Reads `server` flags: `--listen HOST:PORT --pool CIDR --tun NAME --cert F --key F --ca F
 * [--metrics HOST:PORT] [--mtu N] [--route CIDR]...`.
 * @throws MasqueConfigError naming the flag; CommanderError for unknown flags and `--help`.
 */
export function readServerConfig(argv: readonly string[]): ServerConfig {
  const cmd = program('otel-contracts masque-vpn server')
    .description('CONNECT-IP (RFC 9484) over HTTP/2 with mTLS into a TUN device; /metrics on --metrics')
    .option('--listen <host:port>', 'HTTP/2 + TLS listen address (required)')
    .option('--pool <cidr>', 'IPv4 pool: the TUN takes the first address, clients the others (required)')
    .option('--tun <name>', 'TUN interface name (required)')
    .option('--cert <file>', 'server certificate, PEM (required)')
    .option('--key <file>', 'server private key, PEM (required)')
    .option('--ca <file>', 'CA that signs client certificates, PEM (required)')
    .option('--metrics <host:port>', 'metrics address', '127.0.0.1:8080')
    .option('--mtu <bytes>', 'TUN MTU (576..9000)', '1400')
    .option('--route <cidr>', 'extra IPv4 network advertised to clients (repeatable)', collect);
  cmd.parse([...argv], { from: 'user' });
  const o = cmd.opts<{ listen?: string; pool?: string; tun?: string; cert?: string; key?: string; ca?: string; metrics: string; mtu: string; route?: string[] }>();
  for (const f of ['listen', 'pool', 'tun'] as const) if (!o[f]) throw new MasqueConfigError(`--${f} is required`);
  try {
    parseCidr4(o.pool as string);
    for (const r of o.route ?? []) parseIpv4Cidr(r, '--route');
  } catch (e) {
    throw new MasqueConfigError((e as PoolError).message);
  }
  return {
    listen: parseHostPort(o.listen as string, '--listen', 'listen'),
    pool: o.pool as string,
    tun: o.tun as string,
    tls: { cert: readPem('--cert', o.cert), key: readPem('--key', o.key), ca: readPem('--ca', o.ca) },
    metrics: parseHostPort(o.metrics, '--metrics', 'listen'),
    mtu: intIn('--mtu', o.mtu, 1400, 576, 9000),
    routes: o.route ?? [],
  };
}

/**
 * Reads `client` flags: `--server https://HOST:PORT --tun NAME --cert F --key F --ca F [--mtu N]`.
 * @throws MasqueConfigError naming the flag; CommanderError for unknown flags and `--help`.
 */
export function readClientConfig(argv: readonly string[]): ClientConfig {
  const cmd = program('otel-contracts masque-vpn client')
    .description('connect to a masque-vpn server and route its networks through a TUN device')
    .option('--server <url>', 'https://HOST:PORT of the server (required)')
    .option('--tun <name>', 'TUN interface name (required)')
    .option('--cert <file>', 'client certificate, PEM; its CN is the client_id (required)')
    .option('--key <file>', 'client private key, PEM (required)')
    .option('--ca <file>', 'CA that signs the server certificate, PEM (required)')
    .option('--mtu <bytes>', 'TUN MTU (576..9000)', '1400');
  cmd.parse([...argv], { from: 'user' });
  const o = cmd.opts<{ server?: string; tun?: string; cert?: string; key?: string; ca?: string; mtu: string }>();
  for (const f of ['server', 'tun'] as const) if (!o[f]) throw new MasqueConfigError(`--${f} is required`);
  let server: URL;
  try {
    server = new URL(o.server as string);
  } catch {
    throw new MasqueConfigError(`--server ${JSON.stringify(o.server)}: expected https://HOST:PORT`);
  }
  if (server.protocol !== 'https:' || !server.port) throw new MasqueConfigError(`--server ${o.server}: expected https://HOST:PORT`);
  return {
    server,
    tun: o.tun as string,
    tls: { cert: readPem('--cert', o.cert), key: readPem('--key', o.key), ca: readPem('--ca', o.ca) },
    mtu: intIn('--mtu', o.mtu, 1400, 576, 9000),
    backoffMs: 250,
    maxBackoffMs: 10_000,
  };
}
