import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Command, Option } from 'commander';
import { parseHostPort, type HostPort } from '../kit/host-port.ts';

/**
 * Command-line flags and environment of the egress sidecar, with embedded defaults so that
 * `npm start` runs without any: DNS on 127.0.0.1:15353, policy API and /metrics on 127.0.0.1:18080,
 * upstreams from /etc/resolv.conf, mode `dns`.
 */

/** Enforcement modes (seed 000 §2 `enforcement_mode{mode}`). */
export type EnforcementMode = 'dns' | 'dns+nft';

/** A `HOST:PORT` address, host without brackets (the one shape every component uses). */
export type { HostPort };

/** Resolved configuration of one sidecar. Durations in milliseconds. */
export interface SidecarConfig {
  readonly dnsListen: HostPort;
  readonly httpListen: HostPort;
  /** Upstream resolvers in the order they are tried; IP literals. */
  readonly upstreams: readonly HostPort[];
  /** Where the upstreams came from: `--upstream` or the resolv.conf path. */
  readonly upstreamSource: string;
  /** The mode asked for; the mode in force may fall back to `dns` when nftables cannot be applied. */
  readonly mode: EnforcementMode;
  /** Budget of one forwarded query across all upstream attempts; SERVFAIL after it. */
  readonly upstreamTimeoutMs: number;
  /** `OPENSANDBOX_EGRESS_TOKEN`: required in the `OPENSANDBOX-EGRESS-AUTH` header of /policy when set. */
  readonly token: string | undefined;
  /** nftables table name (family inet) in dns+nft mode. */
  readonly nftTable: string;
  /** Resolver addresses whose tcp/443 is dropped (DoH); empty disables the DoH rule. */
  readonly dohBlocklist: readonly string[];
}

/** A flag or variable that cannot be used; the message names it and says what is accepted. */
export class SidecarConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SidecarConfigError';
  }
}

/** Default DNS listen address (the upstream sidecar's). */
export const DEFAULT_DNS_LISTEN = '127.0.0.1:15353';
/** Default policy API and /metrics address (loopback; pass --http-listen 0.0.0.0:18080 to expose it). */
export const DEFAULT_HTTP_LISTEN = '127.0.0.1:18080';
/** Default upstream budget per query. */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 2000;
/** Default nftables table. */
export const DEFAULT_NFT_TABLE = 'opensandbox_egress';

/** Well-known public DoH resolvers, blocked on tcp/443 when `OPENSANDBOX_EGRESS_BLOCK_DOH_443=true` names no list. */
export const WELL_KNOWN_DOH_RESOLVERS: readonly string[] = [
  '1.1.1.1', '1.0.0.1', '8.8.8.8', '8.8.4.4', '9.9.9.9', '149.112.112.112', '208.67.222.222', '208.67.220.220',
  '2606:4700:4700::1111', '2606:4700:4700::1001', '2001:4860:4860::8888', '2001:4860:4860::8844', '2620:fe::fe', '2620:fe::9',
];

/**
 * Nameservers of a resolv.conf, port 53, in file order.
 * @throws SidecarConfigError when the file cannot be read or lists none.
 */
export function readResolvConf(path: string): HostPort[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SidecarConfigError(`cannot read ${path} for upstream resolvers (${(e as Error).message}); pass --upstream HOST:PORT`);
  }
  const out: HostPort[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const host = (m[1] as string).replace(/%.*$/, '');
    if (isIP(host) !== 0) out.push({ host, port: 53 });
  }
  if (out.length === 0) throw new SidecarConfigError(`${path} lists no nameserver; pass --upstream HOST:PORT`);
  return out;
}

function mode(raw: string, what: string): EnforcementMode {
  const v = raw.trim().toLowerCase();
  if (v === 'dns' || v === 'dns+nft') return v;
  throw new SidecarConfigError(`${what}="${raw}": expected dns or dns+nft`);
}

function truthy(raw: string | undefined): boolean {
  return raw !== undefined && /^(1|true|yes|on)$/i.test(raw.trim());
}

/** The commander program of the sidecar (flags and help text). */
function buildProgram(): Command {
  return new Command('egress-sidecar')
    .description('OpenSandbox egress sidecar: DNS proxy with an egress policy, policy API, nftables layer, Prometheus /metrics and OTLP push')
    .addOption(new Option('--dns-listen <host:port>', 'DNS proxy address, UDP and TCP').default(DEFAULT_DNS_LISTEN))
    .addOption(new Option('--http-listen <host:port>', 'policy API, /healthz and /metrics address (env OPENSANDBOX_EGRESS_HTTP_ADDR)'))
    .addOption(new Option('--upstream <host:port>', 'upstream resolver, repeatable, tried in order (default: nameservers of --resolv-conf)').argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]))
    .addOption(new Option('--resolv-conf <path>', 'where to read upstream nameservers when no --upstream is given').default('/etc/resolv.conf'))
    .addOption(new Option('--mode <mode>', 'enforcement mode: dns or dns+nft (env OPENSANDBOX_EGRESS_MODE)'))
    .addOption(new Option('--upstream-timeout-ms <ms>', 'budget of one forwarded query across upstream attempts; SERVFAIL after it').default(String(DEFAULT_UPSTREAM_TIMEOUT_MS)))
    .addOption(new Option('--nft-table <name>', 'nftables table (family inet) in dns+nft mode').default(DEFAULT_NFT_TABLE))
    .addOption(new Option('--doh-blocklist <ips>', 'comma-separated resolver IPs whose tcp/443 is dropped in dns+nft mode (env OPENSANDBOX_EGRESS_DOH_BLOCKLIST)'))
    .addOption(new Option('--block-doh-443', 'drop tcp/443 to well-known public DoH resolvers when no list is given (env OPENSANDBOX_EGRESS_BLOCK_DOH_443=true)'))
    .exitOverride()
    .allowExcessArguments(false);
}

/**
 * Reads flags (`argv` without node and script) over the environment over the defaults.
 * Flags win over `OPENSANDBOX_EGRESS_MODE`, `OPENSANDBOX_EGRESS_HTTP_ADDR`, `OPENSANDBOX_EGRESS_DOH_BLOCKLIST`
 * and `OPENSANDBOX_EGRESS_BLOCK_DOH_443`; the token comes only from `OPENSANDBOX_EGRESS_TOKEN`.
 *
 * @throws SidecarConfigError naming the flag or variable; CommanderError for unknown flags and `--help`.
 */
export function readSidecarConfig(argv: readonly string[], env: NodeJS.ProcessEnv): SidecarConfig {
  const program = buildProgram();
  program.parse([...argv], { from: 'user' });
  const o = program.opts<{
    dnsListen: string;
    httpListen?: string;
    upstream?: string[];
    resolvConf: string;
    mode?: string;
    upstreamTimeoutMs: string;
    nftTable: string;
    dohBlocklist?: string;
    blockDoh443?: boolean;
  }>();
  const dnsListen = parseHostPort(o.dnsListen, '--dns-listen', 'listen');
  const httpRaw = o.httpListen ?? (env.OPENSANDBOX_EGRESS_HTTP_ADDR || undefined);
  const httpListen = parseHostPort(httpRaw ?? DEFAULT_HTTP_LISTEN, o.httpListen ? '--http-listen' : 'OPENSANDBOX_EGRESS_HTTP_ADDR', 'listen');
  const upstreams = o.upstream?.length
    ? o.upstream.map((u) => parseHostPort(u, '--upstream', 'dial-ip', { defaultPort: 53 }))
    : readResolvConf(o.resolvConf);
  for (const u of upstreams) {
    if (u.port === dnsListen.port && (u.host === dnsListen.host || dnsListen.host === '0.0.0.0' || dnsListen.host === '::')) {
      throw new SidecarConfigError(`upstream ${u.host}:${u.port} is the proxy's own --dns-listen address; queries would loop. Pass --upstream with the real resolver`);
    }
  }
  const enforcement = o.mode !== undefined ? mode(o.mode, '--mode') : env.OPENSANDBOX_EGRESS_MODE ? mode(env.OPENSANDBOX_EGRESS_MODE, 'OPENSANDBOX_EGRESS_MODE') : 'dns';
  const timeout = Number(o.upstreamTimeoutMs);
  if (!Number.isInteger(timeout) || timeout < 10 || timeout > 60_000) {
    throw new SidecarConfigError(`--upstream-timeout-ms "${o.upstreamTimeoutMs}": expected an integer from 10 to 60000`);
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(o.nftTable)) {
    throw new SidecarConfigError(`--nft-table "${o.nftTable}": expected letters, digits and _ (at most 64)`);
  }
  const listRaw = o.dohBlocklist ?? env.OPENSANDBOX_EGRESS_DOH_BLOCKLIST ?? '';
  const listed = listRaw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const ip of listed) {
    if (isIP(ip) === 0) throw new SidecarConfigError(`${o.dohBlocklist !== undefined ? '--doh-blocklist' : 'OPENSANDBOX_EGRESS_DOH_BLOCKLIST'}: "${ip}" is not an IP address`);
  }
  const blockAll443 = o.blockDoh443 === true || truthy(env.OPENSANDBOX_EGRESS_BLOCK_DOH_443);
  const dohBlocklist = listed.length > 0 ? listed : blockAll443 ? WELL_KNOWN_DOH_RESOLVERS : [];
  const token = env.OPENSANDBOX_EGRESS_TOKEN ? env.OPENSANDBOX_EGRESS_TOKEN : undefined;
  return {
    dnsListen,
    httpListen,
    upstreams,
    upstreamSource: o.upstream?.length ? '--upstream' : o.resolvConf,
    mode: enforcement,
    upstreamTimeoutMs: timeout,
    token,
    nftTable: o.nftTable,
    dohBlocklist,
  };
}

