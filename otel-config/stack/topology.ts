// The two topologies of the native stack and the layout of the scaled one: how many gateways, backends and
// shards, the name of each process (its role) and the loopback ports each listens on.
//
//   single  Prometheus, Pushgateway and one collector (4317/4318)
//   scaled  HAProxy (4317/4318) → gateway collectors (loadbalancing exporter) → backend collectors
//           (prometheusremotewrite) → vmagent (-remoteWrite.shardByURL on job,instance) → VictoriaMetrics shards
import type { PartName } from './parts.ts';

/** Which set of processes `otel-contracts stack` runs. */
export type Topology = 'single' | 'scaled';

/** Every topology, the default first. */
export const TOPOLOGIES: readonly Topology[] = ['single', 'scaled'];

/** A process of the scaled topology, by role: `haproxy`, `gateway-N`, `backend-N`, `vmagent`, `shard-N` (N from 1). */
export type ScaledPartName = 'haproxy' | 'vmagent' | `gateway-${number}` | `backend-${number}` | `shard-${number}`;

/** A process of either topology. */
export type RoleName = PartName | ScaledPartName;

/** The most gateways, backends or shards one machine's port layout has room for. */
export const SCALED_MAX_PER_TIER = 9;

/** How many of each tier, and how far every port is moved (0: the documented ports). */
export interface ScaledLayout {
  readonly gateways: number;
  readonly backends: number;
  readonly shards: number;
  /** Added to every port of the layout, so that a second scaled stack (the e2e suite's) runs beside the first. */
  readonly portOffset: number;
}

/** The options of the scaled topology; every field has a default. */
export interface ScaledOptions {
  /** Gateway collectors behind HAProxy. Default 2. */
  gateways?: number;
  /** Backend collectors the gateways load-balance over. Default 2. */
  backends?: number;
  /** VictoriaMetrics single-node shards behind vmagent. Default 2. */
  shards?: number;
  /** Added to every port (default 0). The e2e suite uses 10000, beside a single-node stack on the usual ports. */
  portOffset?: number;
  /** Default: $VICTORIA_METRICS_BIN or <root>/.cache/victoriametrics/victoria-metrics (built by provision.sh). */
  victoriaMetricsBin?: string;
  /** Default: $VMAGENT_BIN or <root>/.cache/victoriametrics/vmagent (built by provision.sh). */
  vmagentBin?: string;
  /** Default: $HAPROXY_BIN or `haproxy` on PATH (or /usr/sbin). */
  haproxyBin?: string;
}

/** Loopback ports of the scaled topology at offset 0. */
export const SCALED_PORTS = {
  /** HAProxy's OTLP frontends: the ports every pusher already uses. */
  otlpGrpc: 4317,
  otlpHttp: 4318,
  /** HAProxy's monitor (`/healthz`: 200 while a gateway is up) and stats (`/stats`, `/stats;csv`). */
  haproxyMonitor: 8404,
  /** vmagent's HTTP listener: remote write in (`/api/v1/write`), `/health`, `/metrics`. */
  vmagent: 8429,
  /** shard-N listens on shardBase + 10·(N−1): 8428, 8438, … (8428 is VictoriaMetrics' own default). */
  shardBase: 8428,
  /** gateway-N uses gatewayBase + 10·N + 1..4 (gRPC, HTTP, health, own metrics): 14011-14014, 14021-14024, … */
  gatewayBase: 14000,
  /** backend-N uses backendBase + 10·N + 1, 3, 4 (gRPC, health, own metrics): 14111, 14113, 14114, … */
  backendBase: 14100,
} as const;

/** The ports of one gateway collector. */
export interface GatewayPorts {
  readonly grpc: number;
  readonly http: number;
  readonly health: number;
  readonly telemetry: number;
}

/** The ports of one backend collector (OTLP/gRPC only: only gateways send to it). */
export interface BackendPorts {
  readonly grpc: number;
  readonly health: number;
  readonly telemetry: number;
}

/** Every port of a scaled layout. */
export interface ScaledPortMap {
  readonly otlpGrpc: number;
  readonly otlpHttp: number;
  readonly haproxyMonitor: number;
  readonly vmagent: number;
  gateway(n: number): GatewayPorts;
  backend(n: number): BackendPorts;
  shard(n: number): number;
}

function count(what: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > SCALED_MAX_PER_TIER) {
    throw new RangeError(`--${what} ${String(value)}: expected a whole number from 1 to ${SCALED_MAX_PER_TIER}`);
  }
  return v;
}

/**
 * The layout `opts` asks for, defaults filled in (2 gateways, 2 backends, 2 shards, no offset).
 * @throws RangeError naming the option when a count is not 1..9 or the offset would leave the port range.
 */
export function scaledLayout(opts: ScaledOptions = {}): ScaledLayout {
  const portOffset = opts.portOffset ?? 0;
  if (!Number.isInteger(portOffset) || portOffset < 0 || SCALED_PORTS.backendBase + 100 + portOffset > 65_535) {
    throw new RangeError(`port offset ${String(opts.portOffset)}: expected a whole number from 0 to ${65_535 - SCALED_PORTS.backendBase - 100}`);
  }
  return {
    gateways: count('gateways', opts.gateways, 2),
    backends: count('backends', opts.backends, 2),
    shards: count('shards', opts.shards, 2),
    portOffset,
  };
}

/** The ports of `layout`. */
export function scaledPorts(layout: ScaledLayout): ScaledPortMap {
  const o = layout.portOffset;
  const P = SCALED_PORTS;
  return {
    otlpGrpc: P.otlpGrpc + o,
    otlpHttp: P.otlpHttp + o,
    haproxyMonitor: P.haproxyMonitor + o,
    vmagent: P.vmagent + o,
    gateway: (n) => {
      const b = P.gatewayBase + 10 * n + o;
      return { grpc: b + 1, http: b + 2, health: b + 3, telemetry: b + 4 };
    },
    backend: (n) => {
      const b = P.backendBase + 10 * n + o;
      return { grpc: b + 1, health: b + 3, telemetry: b + 4 };
    },
    shard: (n) => P.shardBase + 10 * (n - 1) + o,
  };
}

/** 1..n. */
export function ordinals(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** The processes of `layout` in start order: storage first, the ingress last (`down` stops them in reverse). */
export function scaledPartNames(layout: ScaledLayout): ScaledPartName[] {
  return [
    ...ordinals(layout.shards).map((n): ScaledPartName => `shard-${n}`),
    'vmagent',
    ...ordinals(layout.backends).map((n): ScaledPartName => `backend-${n}`),
    ...ordinals(layout.gateways).map((n): ScaledPartName => `gateway-${n}`),
    'haproxy',
  ];
}

const SINGLE_ROLES: readonly string[] = ['prometheus', 'pushgateway', 'collector'];
const SCALED_ROLE = /^(?:haproxy|vmagent|(?:gateway|backend|shard)-[1-9])$/;

/** Whether `name` is the role of a process of either topology (what a PID file may be named after). */
export function isRoleName(name: string): name is RoleName {
  return SINGLE_ROLES.includes(name) || SCALED_ROLE.test(name);
}

/** The topology a role belongs to. */
export function topologyOfRole(name: RoleName): Topology {
  return SINGLE_ROLES.includes(name) ? 'single' : 'scaled';
}

/** Stop order across both topologies: ingress first, storage last, so that nothing in flight is dropped. */
const STOP_RANK: readonly RegExp[] = [/^haproxy$/, /^gateway-/, /^backend-/, /^vmagent$/, /^shard-/, /^collector$/, /^pushgateway$/, /^prometheus$/];

/** `names` in the order `down` stops them. */
export function inStopOrder(names: readonly RoleName[]): RoleName[] {
  const rank = (n: string) => STOP_RANK.findIndex((re) => re.test(n));
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }));
}
