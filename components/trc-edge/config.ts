import { Command, Option } from 'commander';
import { ConfigError } from '../../instrumentation/config.ts';
import { parseHostPort, type HostPort } from '../kit/host-port.ts';

/**
 * Command line of the trc edge:
 *
 *   otel-contracts trc-edge --routes FILE [--listen [tls=|http=|tcp=]HOST:PORT ...] [--metrics HOST:PORT]
 *
 * A listener's kind decides how its connections find their route: `tls` (the default) by the ClientHello's
 * SNI, `http` by the Host header, `tcp` all to the routes file's `listeners_default`.
 */

/** How a listener's connections find their route. */
export type ListenerKind = 'tls' | 'http' | 'tcp';

/** One `--listen`. */
export interface ListenSpec {
  readonly kind: ListenerKind;
  readonly at: HostPort;
}

/** Resolved configuration of one edge process. Durations in milliseconds. */
export interface EdgeConfig {
  /** The routes file (YAML or JSON). */
  readonly routes: string;
  readonly listen: readonly ListenSpec[];
  readonly metrics: HostPort;
  /** A connection must deliver its ClientHello (or request head) this long after accept. */
  readonly sniffTimeoutMs: number;
  /** Bound on a client connection's connect to its backend. */
  readonly connectTimeoutMs: number;
  /** A piped connection idle this long (no byte either way) is closed. */
  readonly idleTimeoutMs: number;
  /** Cap on connections not yet sniffed; past it the oldest one is closed. */
  readonly maxUnauthenticated: number;
  /** Cap on established (routed) connections; past it a new one is refused, an open one is never closed. */
  readonly maxConnections: number;
}

/** The default `--listen`. */
export const DEFAULT_LISTEN = '127.0.0.1:8443';
/**
 * Default `/metrics` address: loopback, beside the ops proxy's 18090, clear of the local stack (4317/4318
 * collector, 8888/8889, 9090 Prometheus, 9091 Pushgateway, 3000 podtrace, 3001 Grafana, 9464 sample,
 * 18080 egress sidecar, 8080 masque-vpn, 15353 DNS, 7000/8088 ops-proxy examples).
 */
export const DEFAULT_METRICS = '127.0.0.1:18100';
/** Most listeners: `listener_port` is bounded to 16 values by the registry. */
export const MAX_LISTENERS = 16;

function integer(raw: string, what: string, min: number, max: number): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError(`${what} "${raw}": expected an integer from ${min} to ${max}`);
  return v;
}

/** Parses one `--listen` value: `[tls=|http=|tcp=]HOST:PORT`. @throws ConfigError / HostPortError naming it. */
export function parseListen(raw: string): ListenSpec {
  const m = /^(tls|http|tcp)=(.*)$/.exec(raw);
  const kind = (m?.[1] ?? 'tls') as ListenerKind;
  return { kind, at: parseHostPort(m ? (m[2] as string) : raw, '--listen', 'listen') };
}

const repeat = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function buildProgram(): Command {
  return new Command('trc-edge')
    .description('trc edge ingress: routes TLS by SNI (passthrough), HTTP by Host and TCP listeners to backends, with PROXY v2, live route reloads and health checks; /metrics with the 12 trc_edge_* families')
    .addOption(new Option('--routes <file>', 'routes file, YAML or JSON (reloaded on SIGHUP and when it changes)').makeOptionMandatory())
    .addOption(new Option('--listen <[kind=]host:port>', `listener, kind tls (default), http or tcp; repeatable (default ${DEFAULT_LISTEN})`).argParser(repeat))
    .addOption(new Option('--metrics <host:port>', '/metrics and /healthz address').default(DEFAULT_METRICS))
    .addOption(new Option('--sniff-timeout-ms <ms>', 'deadline from accept for the ClientHello or request head').default('10000'))
    .addOption(new Option('--connect-timeout-ms <ms>', 'bound on the connect to a backend').default('5000'))
    .addOption(new Option('--idle-timeout-ms <ms>', 'close a piped connection idle this long').default('300000'))
    .addOption(new Option('--max-unauthenticated <n>', 'cap on connections not yet sniffed; the oldest is closed past it').default('1024'))
    .addOption(new Option('--max-connections <n>', 'cap on established connections; a new one is refused past it').default('10000'))
    .exitOverride()
    .allowExcessArguments(false);
}

/**
 * Reads the flags (`argv` without node and script).
 * @throws ConfigError / HostPortError naming the flag (a bad address, a number out of range, more than
 *   {@link MAX_LISTENERS} listeners); CommanderError for an unknown flag, a missing `--routes` and `--help`.
 */
export function readEdgeConfig(argv: readonly string[]): EdgeConfig {
  const program = buildProgram();
  program.parse([...argv], { from: 'user' });
  const o = program.opts<Record<string, string | string[] | undefined>>();
  const one = (k: string) => o[k] as string;
  const listen = ((o.listen as string[] | undefined) ?? [DEFAULT_LISTEN]).map(parseListen);
  if (listen.length > MAX_LISTENERS) throw new ConfigError(`--listen: ${listen.length} listeners, at most ${MAX_LISTENERS} (listener_port is a bounded label)`);
  return {
    routes: one('routes'),
    listen,
    metrics: parseHostPort(one('metrics'), '--metrics', 'listen'),
    sniffTimeoutMs: integer(one('sniffTimeoutMs'), '--sniff-timeout-ms', 10, 600_000),
    connectTimeoutMs: integer(one('connectTimeoutMs'), '--connect-timeout-ms', 10, 600_000),
    idleTimeoutMs: integer(one('idleTimeoutMs'), '--idle-timeout-ms', 100, 86_400_000),
    maxUnauthenticated: integer(one('maxUnauthenticated'), '--max-unauthenticated', 1, 1_000_000),
    maxConnections: integer(one('maxConnections'), '--max-connections', 1, 1_000_000),
  };
}
