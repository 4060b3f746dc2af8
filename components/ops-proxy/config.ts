import { isIP } from 'node:net';
import { Command, Option } from 'commander';
import { canonicalName } from './wire.ts';
import { parseHostPort, type HostPort } from '../kit/host-port.ts';

/**
 * Command line and environment of the ops proxy:
 *
 *   ops-proxy --control HOST:PORT --http HOST:PORT [--https HOST:PORT] [--tcp NAME=HOST:PORT ...] [--metrics HOST:PORT]
 *   ops-proxy --connect HOST:PORT --register NAME=BACKEND_HOST:PORT [--register ...] [--metrics HOST:PORT]
 *
 * Both roles may be given to one process. The shared token comes only from `OPS_PROXY_TOKEN`. The
 * bounds and limits are flags with defaults (README.md, "Limits").
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
  /** `--max-unauthenticated`: most unauthenticated connections open at once; a new one past it closes the oldest. */
  readonly maxUnauthenticated: number;
  /** `--handshake-timeout-ms`: milliseconds from accept within which a connection must authenticate. */
  readonly handshakeTimeoutMs: number;
  /** `--max-connections`: most authenticated slots (registered control connections plus tunnels); a new one past it is refused. */
  readonly maxConnections: number;
  /** Control and DATA connections from connecting peers. */
  readonly control: HostPort;
  readonly http: HostPort | undefined;
  readonly https: HostPort | undefined;
  readonly tcp: readonly TcpRoute[];
  /** Bound on the wait for a DATA connection after FORWARD (`data_timeout`). */
  readonly dataTimeoutMs: number;
  /** A tunnel socket idle this long closes its tunnel. */
  readonly idleTimeoutMs: number;
  /** Once one side of a tunnel (or a refused connection) ended, the other must end within this, renewed by traffic. */
  readonly halfCloseTimeoutMs: number;
  /** A REGISTER may take a name held by another live control connection (default: refused). */
  readonly allowTakeover: boolean;
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
  /** A tunnel socket (DATA or backend) idle this long closes its tunnel. */
  readonly idleTimeoutMs: number;
  /** Once one side of a tunnel ended, the other must end within this, renewed by traffic. */
  readonly halfCloseTimeoutMs: number;
}

/** Resolved configuration of one ops-proxy process. */
export interface OpsProxyConfig {
  readonly listen: ListenConfig | undefined;
  readonly connect: ConnectConfig | undefined;
  readonly metrics: HostPort;
  /** `--allow-non-loopback`: `--metrics` may be beyond loopback (as `OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true`). */
  readonly allowNonLoopback: boolean;
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
 * (4317/4318 collector, 8888/8889, 9090 Prometheus, 9091 Pushgateway, 3000 podtrace, 3001 Grafana, 9464 sample).
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

/** `--handshake-timeout-ms`, or its old name `--header-timeout-ms` when only that was given. */
function handshakeTimeout(program: Command): number {
  const o = program.opts<Record<string, string | undefined>>();
  if (program.getOptionValueSource('handshakeTimeoutMs') === 'default' && o.headerTimeoutMs !== undefined) {
    return ms(o.headerTimeoutMs, '--header-timeout-ms', 10, 600_000);
  }
  return ms(o.handshakeTimeoutMs as string, '--handshake-timeout-ms', 10, 600_000);
}

/** The tunnel bounds both roles apply. */
function tunnelBounds(one: (k: string) => string | undefined): { idleTimeoutMs: number; halfCloseTimeoutMs: number } {
  return {
    idleTimeoutMs: ms(one('idleTimeoutMs') as string, '--idle-timeout-ms', 100, 86_400_000),
    halfCloseTimeoutMs: ms(one('halfCloseTimeoutMs') as string, '--half-close-timeout-ms', 10, 86_400_000),
  };
}

function buildProgram(): Command {
  return new Command('ops-proxy')
    .description('Ops proxy: reverse tunnel (REGISTER / FORWARD / DATA) routed by Host, SNI or TCP port, with Prometheus /metrics and OTLP push')
    .addOption(new Option('--control <host:port>', 'listening role: control and DATA connections from connecting peers'))
    .addOption(new Option('--http <host:port>', 'listening role: public HTTP, routed by the Host header'))
    .addOption(new Option('--https <host:port>', 'listening role: public TLS passthrough, routed by the ClientHello SNI'))
    .addOption(new Option('--tcp <name=host:port>', 'listening role: raw TCP on host:port routed to name (repeatable)').argParser(repeat))
    .addOption(new Option('--connect <host:port>', "connecting role: a listening peer's --control address (repeatable)").argParser(repeat))
    .addOption(new Option('--register <name=host:port>', 'connecting role: route name to this local backend (repeatable)').argParser(repeat))
    .addOption(new Option('--metrics <host:port>', '/metrics and /healthz address (loopback unless allowed)').default(DEFAULT_METRICS))
    .addOption(new Option('--allow-non-loopback', 'allow a --metrics address beyond loopback (or OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true)').default(false))
    .addOption(new Option('--data-timeout-ms <ms>', 'wait for the DATA connection after FORWARD').default('5000'))
    .addOption(new Option('--handshake-timeout-ms <ms>', 'a connection must send its request head, ClientHello, accepted REGISTER or matched DATA line within this of accept').default('5000'))
    .addOption(new Option('--header-timeout-ms <ms>', 'old name of --handshake-timeout-ms').hideHelp())
    .addOption(new Option('--max-unauthenticated <n>', 'cap on connections not yet authenticated; past it the oldest of them is closed').default('512'))
    .addOption(new Option('--max-connections <n>', 'cap on registered control connections plus tunnels; past it a new one is refused').default('4096'))
    .addOption(new Option('--allow-takeover', 'a REGISTER may take a name another live control connection holds').default(false))
    .addOption(new Option('--idle-timeout-ms <ms>', 'both roles: close a tunnel whose socket is idle this long').default('300000'))
    .addOption(new Option('--half-close-timeout-ms <ms>', 'both roles: once one side of a tunnel ended, the other must end (or move a byte) within this').default('10000'))
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
      handshakeTimeoutMs: handshakeTimeout(program),
      maxUnauthenticated: ms(one('maxUnauthenticated') as string, '--max-unauthenticated', 1, 1_000_000),
      maxConnections: ms(one('maxConnections') as string, '--max-connections', 1, 1_000_000),
      allowTakeover: program.opts<{ allowTakeover?: boolean }>().allowTakeover === true,
      ...tunnelBounds(one),
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
      ...tunnelBounds(one),
    };
  }

  const token = env.OPS_PROXY_TOKEN ?? '';
  if (token === '') throw new OpsProxyConfigError('OPS_PROXY_TOKEN is not set: every peer needs the shared token (REGISTER and DATA are refused without it)');
  const allowNonLoopback = program.opts<{ allowNonLoopback?: boolean }>().allowNonLoopback === true;
  return { listen, connect, metrics: parseHostPort(one('metrics') as string, '--metrics', 'listen'), allowNonLoopback, token };
}

