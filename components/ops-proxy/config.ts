import { isIP } from 'node:net';
import { Command, Option } from 'commander';
import { canonicalName } from './wire.ts';
import { parseHostPort, type HostPort } from '../kit/host-port.ts';

/**
 * Command line and environment of the ops proxy (issue 10, "CLI"):
 *
 *   ops-proxy --control HOST:PORT --http HOST:PORT [--https HOST:PORT] [--tcp NAME=HOST:PORT ...] [--metrics HOST:PORT]
 *   ops-proxy --connect HOST:PORT --register NAME=BACKEND_HOST:PORT [--register ...] [--metrics HOST:PORT]
 *
 * Both roles may be given to one process. The shared token comes only from `OPS_PROXY_TOKEN`.
 */

/** A `HOST:PORT` address, host without brackets (the one shape every component uses). */
export type { HostPort };

/** A raw TCP route of the listening peer: connections to `listen` go to routing name `name`. */
export interface TcpRoute {
  readonly name: string;
  readonly listen: HostPort;
}

/** A name the connecting peer registers, and the local backend it dials on FORWARD. */
export interface Registration {
  readonly name: string;
  readonly backend: HostPort;
}

/** The listening role (seed 001: "Present when peer is listening for connections"). Durations in ms. */
export interface ListenConfig {
  /** Control and DATA connections from connecting peers. */
  readonly control: HostPort;
  readonly http: HostPort | undefined;
  readonly https: HostPort | undefined;
  readonly tcp: readonly TcpRoute[];
  /** Bound on the wait for a DATA connection after FORWARD (`data_timeout`). */
  readonly dataTimeoutMs: number;
  /** Bound on reading a request head, a ClientHello or a connection's first control line. */
  readonly headerTimeoutMs: number;
  /** A tunnelled or control connection idle this long is closed. */
  readonly idleTimeoutMs: number;
  /** Cap on open public connections; past it the oldest idle one is closed. */
  readonly maxConnections: number;
  /** A control connection without a REGISTER refresh for this long is closed (its names go down). */
  readonly controlTimeoutMs: number;
  /** A name disconnected for longer than this is forgotten. */
  readonly pruneAfterMs: number;
}

/** The connecting role (seed 001: "Present when peer is connecting to other peers"). Durations in ms. */
export interface ConnectConfig {
  readonly targets: readonly HostPort[];
  readonly registrations: readonly Registration[];
  /** Interval of REGISTER refreshes. */
  readonly registerIntervalMs: number;
}

/** Resolved configuration of one ops-proxy process. */
export interface OpsProxyConfig {
  readonly listen: ListenConfig | undefined;
  readonly connect: ConnectConfig | undefined;
  readonly metrics: HostPort;
  /** `OPS_PROXY_TOKEN`. */
  readonly token: string;
}

/** A flag or variable that cannot be used; the message names it and says what is accepted. */
export class OpsProxyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpsProxyConfigError';
  }
}

/**
 * Default `/metrics` address: loopback, beside the egress sidecar's 18080, clear of the local stack
 * (4317/4318 collector, 8888/8889, 9090 Prometheus, 9091 Pushgateway, 3000 Grafana, 9464 sample).
 */
export const DEFAULT_METRICS = '127.0.0.1:18090';

function namedAddress(raw: string, what: string, listen: boolean): { name: string; address: HostPort } {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new OpsProxyConfigError(`${what} "${raw}": expected NAME=HOST:PORT`);
  const name = canonicalName(raw.slice(0, eq));
  if (name === undefined) throw new OpsProxyConfigError(`${what} "${raw}": "${raw.slice(0, eq)}" is not a routing name (1..253 characters a Host header allows)`);
  return { name, address: parseHostPort(raw.slice(eq + 1), what, listen ? 'listen' : 'dial') };
}

function ms(raw: string, what: string, min: number, max: number): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new OpsProxyConfigError(`${what} "${raw}": expected an integer from ${min} to ${max}`);
  return v;
}

const repeat = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function buildProgram(): Command {
  return new Command('ops-proxy')
    .description('Ops proxy: reverse tunnel (REGISTER / FORWARD / DATA) routed by Host, SNI or TCP port, with Prometheus /metrics and OTLP push')
    .addOption(new Option('--control <host:port>', 'listening role: control and DATA connections from connecting peers'))
    .addOption(new Option('--http <host:port>', 'listening role: public HTTP, routed by the Host header'))
    .addOption(new Option('--https <host:port>', 'listening role: public TLS passthrough, routed by the ClientHello SNI'))
    .addOption(new Option('--tcp <name=host:port>', 'listening role: raw TCP on host:port routed to name (repeatable)').argParser(repeat))
    .addOption(new Option('--connect <host:port>', "connecting role: a listening peer's --control address (repeatable)").argParser(repeat))
    .addOption(new Option('--register <name=host:port>', 'connecting role: route name to this local backend (repeatable)').argParser(repeat))
    .addOption(new Option('--metrics <host:port>', '/metrics and /healthz address').default(DEFAULT_METRICS))
    .addOption(new Option('--data-timeout-ms <ms>', 'wait for the DATA connection after FORWARD').default('5000'))
    .addOption(new Option('--header-timeout-ms <ms>', 'wait for a request head, ClientHello or first control line').default('10000'))
    .addOption(new Option('--idle-timeout-ms <ms>', 'close a tunnelled connection idle this long').default('300000'))
    .addOption(new Option('--max-connections <n>', 'cap on public connections; the oldest idle one is closed past it').default('1024'))
    .addOption(new Option('--control-timeout-ms <ms>', 'close a control connection without a REGISTER refresh for this long').default('60000'))
    .addOption(new Option('--prune-after-ms <ms>', 'forget a routing name disconnected for this long').default('600000'))
    .addOption(new Option('--register-interval-ms <ms>', 'connecting role: REGISTER refresh interval').default('10000'))
    .exitOverride()
    .allowExcessArguments(false);
}

/**
 * Reads flags (`argv` without node and script) and `OPS_PROXY_TOKEN`.
 * @throws OpsProxyConfigError naming the flag or variable (no role, a role half given, a bad address or
 *   name, a missing token); CommanderError for unknown flags and `--help`.
 */
export function readOpsProxyConfig(argv: readonly string[], env: NodeJS.ProcessEnv): OpsProxyConfig {
  const program = buildProgram();
  program.parse([...argv], { from: 'user' });
  const o = program.opts<Record<string, string | string[] | undefined>>();
  const one = (k: string) => o[k] as string | undefined;
  const many = (k: string) => (o[k] as string[] | undefined) ?? [];

  const listening = one('control') !== undefined || one('http') !== undefined || one('https') !== undefined || many('tcp').length > 0;
  const connecting = many('connect').length > 0 || many('register').length > 0;
  if (!listening && !connecting) {
    throw new OpsProxyConfigError('no role given: pass --control with --http/--https/--tcp to listen, and/or --connect with --register to connect');
  }

  let listen: ListenConfig | undefined;
  if (listening) {
    const control = one('control');
    if (control === undefined) throw new OpsProxyConfigError('--http, --https and --tcp need --control HOST:PORT (where connecting peers register)');
    const tcp = many('tcp').map((t) => {
      const { name, address } = namedAddress(t, '--tcp', true);
      return { name, listen: address };
    });
    const http = one('http');
    const https = one('https');
    if (http === undefined && https === undefined && tcp.length === 0) throw new OpsProxyConfigError('--control needs at least one public listener: --http, --https or --tcp');
    listen = {
      control: parseHostPort(control, '--control', 'listen'),
      http: http === undefined ? undefined : parseHostPort(http, '--http', 'listen'),
      https: https === undefined ? undefined : parseHostPort(https, '--https', 'listen'),
      tcp,
      dataTimeoutMs: ms(one('dataTimeoutMs') as string, '--data-timeout-ms', 10, 600_000),
      headerTimeoutMs: ms(one('headerTimeoutMs') as string, '--header-timeout-ms', 10, 600_000),
      idleTimeoutMs: ms(one('idleTimeoutMs') as string, '--idle-timeout-ms', 100, 86_400_000),
      maxConnections: ms(one('maxConnections') as string, '--max-connections', 1, 1_000_000),
      controlTimeoutMs: ms(one('controlTimeoutMs') as string, '--control-timeout-ms', 100, 86_400_000),
      pruneAfterMs: ms(one('pruneAfterMs') as string, '--prune-after-ms', 0, 86_400_000 * 30),
    };
  }

  let connect: ConnectConfig | undefined;
  if (connecting) {
    if (many('connect').length === 0) throw new OpsProxyConfigError('--register needs --connect HOST:PORT (a listening peer\'s --control address)');
    if (many('register').length === 0) throw new OpsProxyConfigError('--connect needs at least one --register NAME=BACKEND_HOST:PORT');
    const registrations = many('register').map((r) => {
      const { name, address } = namedAddress(r, '--register', false);
      return { name, backend: address };
    });
    const seen = new Set<string>();
    for (const r of registrations) {
      if (seen.has(r.name)) throw new OpsProxyConfigError(`--register: name "${r.name}" is given twice`);
      seen.add(r.name);
    }
    connect = {
      targets: many('connect').map((c) => parseHostPort(c, '--connect', 'dial')),
      registrations,
      registerIntervalMs: ms(one('registerIntervalMs') as string, '--register-interval-ms', 50, 3_600_000),
    };
  }

  const token = env.OPS_PROXY_TOKEN ?? '';
  if (token === '') throw new OpsProxyConfigError('OPS_PROXY_TOKEN is not set: every peer needs the shared token (REGISTER and DATA are refused without it)');
  return { listen, connect, metrics: parseHostPort(one('metrics') as string, '--metrics', 'listen'), token };
}

