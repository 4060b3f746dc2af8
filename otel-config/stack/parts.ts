// The parts of the native stack: their names and ports, the options every entry point takes, and
// how those options resolve into one spec per part (binary, arguments, environment, ports, URLs).
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, relative, resolve, sep } from 'node:path';
import { PACKAGE_ROOT } from '../../semconv/package-root.ts';
import { createLogger } from '../../instrumentation/logger.ts';
import type { Logger } from 'pino';

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
  /** Parts to act on (default: all). */
  parts?: PartName[];
  /** Run otel-config/provision.sh before starting (installs packages, builds the collector, cached). */
  provision?: boolean;
  /** Delete Prometheus's data directory before starting it (a clean TSDB for tests). */
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
  name: PartName;
  bin: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  ports: { port: number; what: string }[];
  listen: string[];
  url: string;
  readyUrl: string;
  /** What to run when the binary is missing. */
  installHint: string;
}

/** StackOptions with every default filled in, and the spec of every part. */
export interface Resolved {
  root: string;
  stateDir: string;
  configDir: string;
  log: Logger;
  out: (line: string) => void;
  readyTimeoutMs: number;
  specs: Map<PartName, PartSpec>;
  parts: PartName[];
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
 * Where `otel-contracts stack provision` (otel-config/provision.sh) puts the collector:
 * `<clone>/.cache/otelcol/otelcol-contracts`, or for an install `$OTEL_CONTRACTS_CACHE/otelcol/otelcol-contracts`
 * (default `~/.cache/otel-contracts/…`).
 */
function defaultCollectorBin(root: string): string {
  if (!isInstalled(root)) return join(root, '.cache', 'otelcol', 'otelcol-contracts');
  return join(process.env.OTEL_CONTRACTS_CACHE || join(homedir(), '.cache', 'otel-contracts'), 'otelcol', 'otelcol-contracts');
}

/**
 * Fills in the defaults of `opts` and builds the part specs.
 * @throws StackError when `opts.parts` names an unknown part.
 */
export function resolveOptions(opts: StackOptions = {}): Resolved {
  const root = resolve(opts.root ?? PACKAGE_ROOT);
  const stateDir = resolve(opts.stateDir ?? process.env.OTEL_CONTRACTS_STACK_DIR ?? defaultStateDir(root));
  const configDir = join(root, 'otel-config');
  const log =
    opts.logger ?? createLogger('otel-contracts-stack');
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const parts = opts.parts ?? [...PART_NAMES];
  for (const p of parts) {
    if (!PART_NAMES.includes(p)) throw new StackError('stack', `unknown part '${String(p)}'`, `use one of ${PART_NAMES.join(', ')}`);
  }
  const r: Resolved = {
    root,
    stateDir,
    configDir,
    log,
    out,
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
    specs: new Map(),
    parts,
    opts,
  };
  for (const s of buildSpecs(r)) r.specs.set(s.name, s);
  return r;
}

function buildSpecs(r: Resolved): PartSpec[] {
  const P = STACK_PORTS;
  const collectorBin = resolve(
    r.root,
    r.opts.collectorBin ?? process.env.OTELCOL_BIN ?? defaultCollectorBin(r.root),
  );
  const prometheusBin = r.opts.prometheusBin ?? process.env.PROMETHEUS_BIN ?? 'prometheus';
  const pushgatewayBin =
    r.opts.pushgatewayBin ??
    process.env.PUSHGATEWAY_BIN ??
    (findExecutable('prometheus-pushgateway') ? 'prometheus-pushgateway' : 'pushgateway');
  const provisionHint = 'run `otel-contracts stack provision` (otel-config/provision.sh)';
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
      installHint: `${provisionHint}, or apt-get install prometheus, or set PROMETHEUS_BIN`,
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
      installHint: `${provisionHint}, or apt-get install prometheus-pushgateway, or set PUSHGATEWAY_BIN`,
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
      installHint: provisionHint,
    },
  ];
}

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
export function logFile(r: Resolved, name: PartName): string {
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
