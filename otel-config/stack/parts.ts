// The parts of the native stack: their names and ports, the options every entry point takes, and
// how those options resolve into one spec per part (binary, arguments, environment, ports, URLs).
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, relative, resolve, sep } from 'node:path';
import { PACKAGE_ROOT } from '../../semconv/package-root.ts';
import { createLogger } from '../../instrumentation/logger.ts';
import type { Logger } from 'pino';
import { buildScaledSpecs } from './scaled-parts.ts';
import { readTopologyRecord } from './topology-record.ts';
import { TOPOLOGIES, scaledLayout, scaledPartNames } from './topology.ts';
import type { RoleName, ScaledLayout, ScaledOptions, Topology } from './topology.ts';

/** The processes of the native stack: Prometheus (9090), Pushgateway (9091), the OTel Collector (4317/4318). */
export type PartName = 'prometheus' | 'pushgateway' | 'collector';

/** Start order. Prometheus first so that it is ready to scrape, the collector last. */
export const PART_NAMES: readonly PartName[] = ['prometheus', 'pushgateway', 'collector'];

/** Fixed loopback ports; prometheus.yml and collector.yaml use the same ones. */
export const STACK_PORTS = {
  prometheus: 9090,
  pushgateway: 9091,
  otlpGrpc: 4317,
  otlpHttp: 4318,
  collectorPrometheus: 8889,
  collectorTelemetry: 8888,
  collectorHealth: 13133,
} as const;

/** The loopback address every part listens on. */
export const HOST = '127.0.0.1';
/** Must match OCB_VERSION in provision.sh (it is part of the build-cache key). */
const OCB_VERSION = 'v0.159.0';

/** Where the stack lives and what to act on; every field has a default. */
export interface StackOptions {
  /** Repository (package) root holding otel-config/. Default: the parent of otel-config/. */
  root?: string;
  /** Where PID files, logs and Prometheus data go. Default: $OTEL_CONTRACTS_STACK_DIR or <root>/.stack. */
  stateDir?: string;
  /** Collector binary. Default: $OTELCOL_BIN or <root>/.cache/otelcol/otelcol-contracts. */
  collectorBin?: string;
  /** Default: $PROMETHEUS_BIN or `prometheus` on PATH. */
  prometheusBin?: string;
  /** Default: $PUSHGATEWAY_BIN or `prometheus-pushgateway` (then `pushgateway`) on PATH. */
  pushgatewayBin?: string;
  /**
   * Which processes: `single` (Prometheus, Pushgateway, one collector) or `scaled` (HAProxy, gateway and
   * backend collectors, vmagent, VictoriaMetrics shards). Default: the one `up` last started in the state
   * directory (.stack/topology.json), else `single`.
   */
  topology?: Topology;
  /** The scaled topology's layout (counts, port offset) and binaries; used when the topology is `scaled`. */
  scaled?: ScaledOptions;
  /** Parts to act on (default: all of the topology). */
  parts?: RoleName[];
  /** Run otel-config/provision.sh before starting (installs packages, builds the collector, cached). */
  provision?: boolean;
  /** Empty the data directories of the parts it starts first (Prometheus's TSDB; the shards' storage and vmagent's queue): a clean store for tests. */
  fresh?: boolean;
  /** How long to wait for each part to become ready. Default 60 s. */
  readyTimeoutMs?: number;
  /** pino logger; default: createLogger (stderr, OTEL_CONTRACTS_LOG_LEVEL, readable on a terminal). */
  logger?: Logger;
  /** Where `up` / `status` write their human-readable lines. Default: process.stdout. */
  out?: (line: string) => void;
}

/** A failure that names the part and what to do. */
export class StackError extends Error {
  readonly part: string;
  readonly hint: string;
  constructor(part: string, message: string, hint: string) {
    super(`${part}: ${message}${hint ? `\n  -> ${hint}` : ''}`);
    this.name = 'StackError';
    this.part = part;
    this.hint = hint;
  }
}

/** How to run one part and how to tell that it is up. */
export interface PartSpec {
  name: RoleName;
  bin: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  ports: { port: number; what: string }[];
  listen: string[];
  url: string;
  readyUrl: string;
  /** What to run when the binary is missing. */
  installHint: string;
  /** The address `status` shows (default: `url`). */
  address?: string;
  /** A configuration file generated for this start (HAProxy's), written before the part is launched. */
  configFile?: { path: string; content: string };
  /** Data directories `fresh` empties before the start (Prometheus's TSDB, a shard's storage, vmagent's queue). */
  dataDirs?: string[];
}

/** StackOptions with every default filled in, and the spec of every part. */
export interface Resolved {
  root: string;
  stateDir: string;
  configDir: string;
  log: Logger;
  out: (line: string) => void;
  readyTimeoutMs: number;
  /** The topology acted on, and its layout when it is `scaled`. */
  topology: Topology;
  layout: ScaledLayout | null;
  specs: Map<RoleName, PartSpec>;
  parts: RoleName[];
  opts: StackOptions;
}


/**
 * Whether `root` is an installed copy of the package (under `node_modules/`), whose contents the next
 * `npm ci` replaces: the stack then keeps its state and collector outside it.
 */
function isInstalled(root: string): boolean {
  return root.split(sep).includes('node_modules');
}

/** The stack's state (pid files, logs, Prometheus data): `<clone>/.stack`, or `$XDG_STATE_HOME/otel-contracts/stack` (`~/.local/state/…`) for an install. */
function defaultStateDir(root: string): string {
  if (!isInstalled(root)) return join(root, '.stack');
  return join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'otel-contracts', 'stack');
}

/**
 * Where `otel-contracts stack provision` (otel-config/provision.sh) puts the binary `name` of `dir`
 * (`otelcol`, `victoriametrics`): `<clone>/.cache/<dir>/<name>`, or for an install
 * `$OTEL_CONTRACTS_CACHE/<dir>/<name>` (default `~/.cache/otel-contracts/…`).
 */
export function provisionedBin(root: string, dir: string, name: string): string {
  if (!isInstalled(root)) return join(root, '.cache', dir, name);
  return join(process.env.OTEL_CONTRACTS_CACHE || join(homedir(), '.cache', 'otel-contracts'), dir, name);
}

/** The collector binary: the option, else $OTELCOL_BIN, else where provision.sh puts it. */
export function collectorBinOf(r: Resolved): string {
  return resolve(r.root, r.opts.collectorBin ?? process.env.OTELCOL_BIN ?? provisionedBin(r.root, 'otelcol', 'otelcol-contracts'));
}

/** The topology and layout `opts` select: the option, else what `up` recorded in `stateDir`, else `single`. */
function topologyOf(opts: StackOptions, stateDir: string): { topology: Topology; layout: ScaledLayout | null } {
  if (opts.topology !== undefined && !TOPOLOGIES.includes(opts.topology)) {
    throw new StackError('stack', `unknown topology '${String(opts.topology)}'`, `use one of ${TOPOLOGIES.join(', ')}`);
  }
  const recorded = opts.topology === undefined ? readTopologyRecord(stateDir) : null;
  const topology = opts.topology ?? recorded?.topology ?? 'single';
  if (topology === 'single') return { topology, layout: null };
  try {
    return { topology, layout: opts.topology === undefined && recorded?.layout ? recorded.layout : scaledLayout(opts.scaled) };
  } catch (err) {
    throw new StackError('stack', (err as Error).message, '');
  }
}

/**
 * Fills in the defaults of `opts` and builds the part specs of the selected topology.
 * @throws StackError when `opts.parts` names a part the topology does not have, or the layout is invalid.
 */
export function resolveOptions(opts: StackOptions = {}): Resolved {
  const root = resolve(opts.root ?? PACKAGE_ROOT);
  const stateDir = resolve(opts.stateDir ?? process.env.OTEL_CONTRACTS_STACK_DIR ?? defaultStateDir(root));
  const configDir = join(root, 'otel-config');
  const log =
    opts.logger ?? createLogger('otel-contracts-stack');
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const { topology, layout } = topologyOf(opts, stateDir);
  const names: readonly RoleName[] = layout ? scaledPartNames(layout) : PART_NAMES;
  const parts = opts.parts ?? [...names];
  for (const p of parts) {
    if (!names.includes(p)) throw new StackError('stack', `unknown part '${String(p)}' in the ${topology} topology`, `use one of ${names.join(', ')}`);
  }
  const r: Resolved = {
    root,
    stateDir,
    configDir,
    log,
    out,
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
    topology,
    layout,
    specs: new Map(),
    parts,
    opts,
  };
  for (const s of layout ? buildScaledSpecs(r, layout) : buildSpecs(r)) r.specs.set(s.name, s);
  return r;
}

function buildSpecs(r: Resolved): PartSpec[] {
  const P = STACK_PORTS;
  const collectorBin = collectorBinOf(r);
  const prometheusBin = r.opts.prometheusBin ?? process.env.PROMETHEUS_BIN ?? 'prometheus';
  const pushgatewayBin =
    r.opts.pushgatewayBin ??
    process.env.PUSHGATEWAY_BIN ??
    (findExecutable('prometheus-pushgateway') ? 'prometheus-pushgateway' : 'pushgateway');
  return [
    {
      name: 'prometheus',
      bin: prometheusBin,
      args: [
        `--config.file=${join(r.configDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${prometheusDataDir(r)}`,
        '--storage.tsdb.retention.time=2d',
        `--web.listen-address=${HOST}:${P.prometheus}`,
        // Lets the collector's remote-write exporter be switched on instead of the scrape.
        '--web.enable-remote-write-receiver',
        // Loopback-only dev stack: /-/reload and series deletion for tests.
        '--web.enable-lifecycle',
        '--web.enable-admin-api',
      ],
      env: { ...process.env },
      ports: [{ port: P.prometheus, what: 'HTTP (UI, API, remote-write receiver)' }],
      listen: [`http://${HOST}:${P.prometheus} (UI, API, /api/v1/write)`],
      url: `http://${HOST}:${P.prometheus}`,
      readyUrl: `http://${HOST}:${P.prometheus}/-/ready`,
      installHint: `${PROVISION_HINT}, or apt-get install prometheus, or set PROMETHEUS_BIN`,
      dataDirs: [prometheusDataDir(r)],
    },
    {
      name: 'pushgateway',
      bin: pushgatewayBin,
      args: [
        `--web.listen-address=${HOST}:${P.pushgateway}`,
        // No persistence: every `up` starts with no groups.
        '--persistence.file=',
      ],
      env: { ...process.env },
      ports: [{ port: P.pushgateway, what: 'HTTP (push API)' }],
      listen: [`http://${HOST}:${P.pushgateway} (push: /metrics/job/<job>/instance_id/<id>)`],
      url: `http://${HOST}:${P.pushgateway}`,
      readyUrl: `http://${HOST}:${P.pushgateway}/-/ready`,
      installHint: `${PROVISION_HINT}, or apt-get install prometheus-pushgateway, or set PUSHGATEWAY_BIN`,
    },
    {
      name: 'collector',
      bin: collectorBin,
      args: ['--config', join(r.configDir, 'collector.yaml')],
      // Pin the addresses collector.yaml reads, whatever the caller's environment says.
      env: {
        ...process.env,
        OTELCOL_OTLP_GRPC_ENDPOINT: `${HOST}:${P.otlpGrpc}`,
        OTELCOL_OTLP_HTTP_ENDPOINT: `${HOST}:${P.otlpHttp}`,
        OTELCOL_PROMETHEUS_ENDPOINT: `${HOST}:${P.collectorPrometheus}`,
        OTELCOL_HEALTH_ENDPOINT: `${HOST}:${P.collectorHealth}`,
        OTELCOL_TELEMETRY_HOST: HOST,
        PROMETHEUS_REMOTE_WRITE_URL: `http://${HOST}:${P.prometheus}/api/v1/write`,
      },
      ports: [
        { port: P.otlpGrpc, what: 'OTLP/gRPC' },
        { port: P.otlpHttp, what: 'OTLP/HTTP' },
        { port: P.collectorPrometheus, what: 'prometheus exporter' },
        { port: P.collectorTelemetry, what: 'own telemetry' },
        { port: P.collectorHealth, what: 'health_check' },
      ],
      listen: [
        `http://${HOST}:${P.otlpHttp}/v1/metrics (OTLP/HTTP)`,
        `${HOST}:${P.otlpGrpc} (OTLP/gRPC)`,
        `http://${HOST}:${P.collectorPrometheus}/metrics (prometheus exporter, scraped by Prometheus)`,
        `http://${HOST}:${P.collectorHealth}/ (health)`,
      ],
      url: `http://${HOST}:${P.otlpHttp}`,
      readyUrl: `http://${HOST}:${P.collectorHealth}/`,
      installHint: PROVISION_HINT,
    },
  ];
}

/** What to run when a provisioned binary is missing. */
export const PROVISION_HINT = 'run `otel-contracts stack provision` (otel-config/provision.sh)';

/** `bin` itself when it has a slash, else its first executable match on PATH; null when there is none. */
export function findExecutable(bin: string): string | null {
  const candidates = bin.includes('/') ? [bin] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, bin));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return null;
}

/** Prometheus's TSDB directory in the state directory. */
export function prometheusDataDir(r: Resolved): string {
  return join(r.stateDir, 'prometheus-data');
}

/** A part's log file in the state directory (rewritten at each start). */
export function logFile(r: Resolved, name: RoleName): string {
  return join(r.stateDir, `${name}.log`);
}

/** `p` relative to the working directory when it lies below it, for messages. */
export function rel(p: string): string {
  const x = relative(process.cwd(), p);
  return x.startsWith('..') ? p : x || '.';
}

/** The build-cache key provision.sh gives the collector built from builder-config.yaml; null when unreadable. */
export function expectedCollectorHash(r: Resolved): string | null {
  try {
    const manifest = readFileSync(join(r.configDir, 'builder-config.yaml'));
    return createHash('sha256').update(`ocb ${OCB_VERSION}\n`).update(manifest).digest('hex').slice(0, 16);
  } catch {
    return null;
  }
}
