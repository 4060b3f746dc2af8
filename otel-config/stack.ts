// The native otel-contracts stack: the ocb-built collector, Prometheus and Pushgateway as
// processes on loopback, driven by the same otel-config/ files that docker-compose.yml mounts.
//
//   otel-contracts stack up | down | status | provision
//
// `up` starts what is not running yet, waits for each part to be ready and says where it
// listens; on any failure it stops the parts it started and names the part that failed.
// PIDs live in .stack/<part>.json so `down` (from any process) stops what `up` started.
// The programmatic API (startStack / stopStack / stackStatus / startPart / stopPart) is what
// the e2e harness uses.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { Logger } from 'pino';

/** What `otel-contracts stack` does: start, stop, report, or only install and build. */
export type StackAction = 'up' | 'down' | 'status' | 'provision';
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

const HOST = '127.0.0.1';
/** Must match OCB_VERSION in provision.sh (it is part of the build-cache key). */
const OCB_VERSION = 'v0.159.0';

/** Where the stack lives and what to act on; every field has a default. */
export interface StackOptions {
  /** Repository (package) root holding otel-config/. Default: the parent of this file's folder. */
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
  /** pino logger; default: info level to stderr (LOG_LEVEL overrides). */
  logger?: Logger;
  /** Where `up` / `status` write their human-readable lines. Default: process.stdout. */
  out?: (line: string) => void;
}

/** One part of the stack as `status` sees it. */
export interface PartStatus {
  name: PartName;
  /** PID from the state file, when that process is still ours and alive. */
  pid: number | null;
  running: boolean;
  /** The part answers its readiness check. */
  ready: boolean;
  listen: string[];
  /** Main URL (UI, OTLP/HTTP endpoint, push URL). */
  url: string;
  log: string;
  /** Set when the part is not running but one of its ports is taken by something else. */
  conflict?: string;
}

/** The stack after `up` or `status`: its parts and the URLs to point components at. */
export interface StackInfo {
  parts: PartStatus[];
  /** Parts this call started (the others were already running). */
  started: PartName[];
  prometheusUrl: string;
  otlpHttpEndpoint: string;
  otlpGrpcEndpoint: string;
  pushgatewayUrl: string;
  stateDir: string;
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

interface PartSpec {
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

interface PidRecord {
  pid: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22): survives exec, detects PID reuse. */
  startTicks: string | null;
  bin: string;
  args: string[];
  startedAt: string;
}

interface Resolved {
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

const here = dirname(fileURLToPath(import.meta.url));

function resolveOptions(opts: StackOptions = {}): Resolved {
  const root = resolve(opts.root ?? join(here, '..'));
  const stateDir = resolve(opts.stateDir ?? process.env.OTEL_CONTRACTS_STACK_DIR ?? join(root, '.stack'));
  const configDir = join(root, 'otel-config');
  const log =
    opts.logger ??
    pino({ name: 'otel-contracts-stack', level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));
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
    r.opts.collectorBin ?? process.env.OTELCOL_BIN ?? join(r.root, '.cache', 'otelcol', 'otelcol-contracts'),
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
        `--storage.tsdb.path=${join(r.stateDir, 'prometheus-data')}`,
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

// ------------------------------------------------------------------ helpers

function findExecutable(bin: string): string | null {
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

function pidFile(r: Resolved, name: PartName): string {
  return join(r.stateDir, `${name}.json`);
}

function logFile(r: Resolved, name: PartName): string {
  return join(r.stateDir, `${name}.log`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its parent) is not running.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
  } catch {
    // no /proc (not Linux): trust kill(0)
  }
  return true;
}

function procStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** The PID in the state file, if that process is alive and is still the one we started (no PID reuse). */
function readOwnedPid(r: Resolved, name: PartName): number | null {
  const file = pidFile(r, name);
  if (!existsSync(file)) return null;
  let rec: PidRecord;
  try {
    rec = JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
  } catch {
    return null;
  }
  if (!Number.isInteger(rec.pid) || rec.pid <= 0 || !isAlive(rec.pid)) return null;
  const ticks = procStartTicks(rec.pid);
  if (rec.startTicks && ticks) return ticks === rec.startTicks ? rec.pid : null;
  try {
    const cmdline = readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0');
    const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
    if (!cmdline[0] || base(cmdline[0]) !== base(rec.bin)) return null;
  } catch {
    // no /proc: accept
  }
  return rec.pid;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once('error', () => done(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => done(true)));
  });
}

async function httpOk(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tail(file: string, lines = 15): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).map((l) => `    | ${l}`).join('\n');
  } catch {
    return '    | (no log)';
  }
}

function rel(r: Resolved, p: string): string {
  const x = relative(process.cwd(), p);
  return x.startsWith('..') ? p : x || '.';
}

function expectedCollectorHash(r: Resolved): string | null {
  try {
    const manifest = readFileSync(join(r.configDir, 'builder-config.yaml'));
    return createHash('sha256').update(`ocb ${OCB_VERSION}\n`).update(manifest).digest('hex').slice(0, 16);
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------ parts

async function preflight(r: Resolved, spec: PartSpec): Promise<string> {
  const bin = findExecutable(spec.bin);
  if (!bin) {
    throw new StackError(spec.name, `binary '${spec.bin}' not found${spec.bin.includes('/') ? '' : ' on PATH'}`, spec.installHint);
  }
  if (spec.name === 'collector') {
    const want = expectedCollectorHash(r);
    const hashFile = `${bin}.hash`;
    const have = existsSync(hashFile) ? readFileSync(hashFile, 'utf8').trim() : null;
    if (want && have && want !== have) {
      r.log.warn({ part: 'collector', built: have, manifest: want }, 'collector binary was built from another builder-config.yaml; run `otel-contracts stack provision` to rebuild');
    }
  }
  for (const { port, what } of spec.ports) {
    if (!(await portFree(port))) {
      throw new StackError(
        spec.name,
        `port ${HOST}:${port} (${what}) is already in use by another process`,
        `stop it (find it with \`ss -ltnp 'sport = :${port}'\`), or run \`otel-contracts stack status\` / \`otel-contracts stack down\` if it is an earlier stack`,
      );
    }
  }
  return bin;
}

function launch(r: Resolved, spec: PartSpec, bin: string): ChildProcess {
  mkdirSync(r.stateDir, { recursive: true });
  const logPath = logFile(r, spec.name);
  // One log per start, so a failure shows this start's lines only.
  const fd = openSync(logPath, 'w');
  writeFileSync(fd, `=== ${new Date().toISOString()} ${bin} ${spec.args.join(' ')}\n`);
  let child: ChildProcess;
  try {
    // Detached: the stack outlives the `stack up` command; `stack down` stops it by PID.
    child = spawn(bin, spec.args, { cwd: r.stateDir, env: spec.env, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) {
    throw new StackError(spec.name, `could not start ${bin}`, `see ${rel(r, logPath)}`);
  }
  child.on('error', () => undefined);
  child.unref();
  const rec: PidRecord = {
    pid: child.pid,
    startTicks: procStartTicks(child.pid),
    bin,
    args: spec.args,
    startedAt: new Date().toISOString(),
  };
  writeFileSync(pidFile(r, spec.name), `${JSON.stringify(rec, null, 2)}\n`);
  r.log.debug({ part: spec.name, childPid: child.pid, bin }, 'spawned');
  return child;
}

async function waitReady(r: Resolved, spec: PartSpec, child: ChildProcess, interrupted: () => string | null): Promise<void> {
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = signal ? `signal ${signal}` : `exit code ${code}`;
  });
  const deadline = Date.now() + r.readyTimeoutMs;
  const t0 = Date.now();
  let nextNote = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const sig = interrupted();
    if (sig) throw new StackError('stack', `interrupted by ${sig} while starting ${spec.name}`, '');
    if (exited !== null || (child.pid !== undefined && !isAlive(child.pid))) {
      throw new StackError(
        spec.name,
        `exited during startup (${exited ?? 'not running'}); last log lines:\n${tail(logFile(r, spec.name))}`,
        `see ${rel(r, logFile(r, spec.name))}`,
      );
    }
    if (await httpOk(spec.readyUrl)) {
      r.log.info({ part: spec.name, childPid: child.pid, ms: Date.now() - t0 }, 'ready');
      return;
    }
    if (Date.now() > nextNote) {
      r.log.info({ part: spec.name, waitedMs: Date.now() - t0 }, `waiting for ${spec.readyUrl}`);
      nextNote = Date.now() + 10_000;
    }
    await sleep(100);
  }
  throw new StackError(
    spec.name,
    `not ready after ${Math.round(r.readyTimeoutMs / 1000)} s (${spec.readyUrl}); last log lines:\n${tail(logFile(r, spec.name))}`,
    `see ${rel(r, logFile(r, spec.name))}`,
  );
}

async function stopPid(r: Resolved, name: string, pid: number, graceMs = 10_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  r.log.warn({ part: name, childPid: pid }, `did not stop within ${graceMs} ms; sending SIGKILL`);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  const killDeadline = Date.now() + 5_000;
  while (Date.now() < killDeadline && isAlive(pid)) await sleep(50);
}

async function stopOne(r: Resolved, name: PartName): Promise<boolean> {
  const pid = readOwnedPid(r, name);
  const file = pidFile(r, name);
  if (pid !== null) {
    await stopPid(r, name, pid);
    r.log.info({ part: name, childPid: pid }, 'stopped');
  }
  if (existsSync(file)) unlinkSync(file);
  return pid !== null;
}

async function statusOf(r: Resolved, name: PartName): Promise<PartStatus> {
  const spec = r.specs.get(name)!;
  const pid = readOwnedPid(r, name);
  const running = pid !== null;
  const ready = running && (await httpOk(spec.readyUrl, 500));
  const st: PartStatus = { name, pid, running, ready, listen: spec.listen, url: spec.url, log: logFile(r, name) };
  if (!running) {
    const taken: string[] = [];
    for (const { port } of spec.ports) if (!(await portFree(port))) taken.push(String(port));
    if (taken.length) st.conflict = `port ${taken.join(', ')} in use by another process`;
  }
  return st;
}

function info(r: Resolved, parts: PartStatus[], started: PartName[]): StackInfo {
  const P = STACK_PORTS;
  return {
    parts,
    started,
    prometheusUrl: `http://${HOST}:${P.prometheus}`,
    otlpHttpEndpoint: `http://${HOST}:${P.otlpHttp}`,
    otlpGrpcEndpoint: `http://${HOST}:${P.otlpGrpc}`,
    pushgatewayUrl: `http://${HOST}:${P.pushgateway}`,
    stateDir: r.stateDir,
  };
}

// ------------------------------------------------------------------ public API

/** Run otel-config/provision.sh (packages + cached collector build). Resolves to its exit code. */
export function provision(opts: StackOptions = {}, part: 'all' | 'packages' | 'collector' = 'all'): Promise<number> {
  const r = resolveOptions(opts);
  const script = join(r.configDir, 'provision.sh');
  return new Promise((done) => {
    const child = spawn('bash', [script, part], { stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
    child.on('error', (err) => {
      r.log.error({ err }, 'provision: could not run bash');
      done(1);
    });
    child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

/**
 * Start the stack (or the selected parts) and wait until each is ready. Parts already running
 * are left as they are. On failure, stops every part this call started and throws StackError.
 */
export async function startStack(opts: StackOptions = {}): Promise<StackInfo> {
  const r = resolveOptions(opts);
  if (opts.provision) {
    const parts = r.parts.includes('prometheus') || r.parts.includes('pushgateway') ? 'all' : 'collector';
    const code = await provision(opts, parts);
    if (code !== 0) throw new StackError('provision', `otel-config/provision.sh failed (exit ${code})`, 'see its output above');
  }
  mkdirSync(r.stateDir, { recursive: true });
  const toStart: { spec: PartSpec; bin: string }[] = [];
  // Check every part before starting any: a missing binary or a taken port starts nothing.
  for (const name of r.parts) {
    if (readOwnedPid(r, name) !== null) {
      r.log.info({ part: name }, 'already running');
      continue;
    }
    const spec = r.specs.get(name)!;
    toStart.push({ spec, bin: await preflight(r, spec) });
  }
  if (opts.fresh && toStart.some((s) => s.spec.name === 'prometheus')) {
    rmSync(join(r.stateDir, 'prometheus-data'), { recursive: true, force: true });
  }

  const started: PartName[] = [];
  const children = new Map<PartName, ChildProcess>();
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = sig;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const { spec, bin } of toStart) {
      if (interrupted) throw new StackError('stack', `interrupted by ${interrupted}`, '');
      const child = launch(r, spec, bin);
      started.push(spec.name);
      children.set(spec.name, child);
      await waitReady(r, spec, child, () => interrupted);
    }
    if (interrupted) throw new StackError('stack', `interrupted by ${interrupted}`, '');
  } catch (err) {
    // Leave nothing half-started: stop what this call started, newest first.
    // Stopped by the PIDs spawn returned, not through the state files.
    for (const name of [...started].reverse()) {
      const pid = children.get(name)?.pid;
      if (pid !== undefined && isAlive(pid)) await stopPid(r, name, pid).catch(() => undefined);
      rmSync(pidFile(r, name), { force: true });
    }
    if (started.length) r.log.warn({ stopped: started }, 'start failed; stopped the parts started so far');
    throw err;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  const parts = await Promise.all(r.parts.map((n) => statusOf(r, n)));
  return info(r, parts, started);
}

/** Stop the stack (or the selected parts), collector first. Returns the parts that were running. */
export async function stopStack(opts: StackOptions = {}): Promise<PartName[]> {
  const r = resolveOptions(opts);
  const stopped: PartName[] = [];
  for (const name of [...r.parts].reverse()) {
    if (await stopOne(r, name)) stopped.push(name);
  }
  return stopped;
}

/** What runs, where it listens, and whether it answers its readiness check. */
export async function stackStatus(opts: StackOptions = {}): Promise<StackInfo> {
  const r = resolveOptions(opts);
  const parts = await Promise.all(r.parts.map((n) => statusOf(r, n)));
  return info(r, parts, []);
}

/** Start one part (e.g. restart the collector after an outage test). */
export function startPart(name: PartName, opts: StackOptions = {}): Promise<StackInfo> {
  return startStack({ ...opts, parts: [name] });
}

/** Stop one part; resolves to true when it was running. */
export async function stopPart(name: PartName, opts: StackOptions = {}): Promise<boolean> {
  return (await stopStack({ ...opts, parts: [name] })).length > 0;
}

function printParts(out: (line: string) => void, parts: PartStatus[]): void {
  for (const p of parts) {
    const state = p.running ? (p.ready ? `running (pid ${p.pid})` : `running (pid ${p.pid}), NOT READY`) : 'stopped';
    out(`${p.name.padEnd(11)} ${state}${p.conflict ? ` - ${p.conflict}` : ''}`);
    if (p.running) for (const l of p.listen) out(`${''.padEnd(12)}${l}`);
  }
}

/**
 * `otel-contracts stack <action>`. Exit codes: 0 ok; 1 failure (message names the part);
 * `status`: 0 when every part runs and is ready, 3 otherwise.
 */
export async function runStackCommand(action: StackAction, opts: StackOptions = {}): Promise<number> {
  let r: Resolved;
  try {
    r = resolveOptions(opts);
  } catch (err) {
    process.stderr.write(`otel-contracts stack: ${(err as Error).message}\n`);
    return 1;
  }
  const { out } = r;
  try {
    switch (action) {
      case 'provision':
        return await provision(opts);
      case 'up': {
        const st = await startStack(opts);
        out(`stack up (state, logs: ${rel(r, st.stateDir)}/)`);
        printParts(out, st.parts);
        out('');
        out(`push OTLP:   OTEL_EXPORTER_OTLP_ENDPOINT=${st.otlpHttpEndpoint}  (gRPC: ${st.otlpGrpcEndpoint})`);
        out(`query:       ${st.prometheusUrl}/graph`);
        out(`pushgateway: ${st.pushgatewayUrl}/metrics/job/<job>/instance_id/<id>`);
        out('stop with:   otel-contracts stack down');
        return 0;
      }
      case 'down': {
        const stopped = await stopStack(opts);
        out(stopped.length ? `stack down: stopped ${stopped.join(', ')}` : 'stack down: nothing was running');
        return 0;
      }
      case 'status': {
        const st = await stackStatus(opts);
        printParts(out, st.parts);
        return st.parts.every((p) => p.running && p.ready) ? 0 : 3;
      }
      default:
        process.stderr.write(`otel-contracts stack: unknown action '${String(action)}' (use up, down, status or provision)\n`);
        return 1;
    }
  } catch (err) {
    if (err instanceof StackError) {
      process.stderr.write(`otel-contracts stack ${action} failed: ${err.message}\n`);
    } else {
      r.log.error({ err }, `stack ${action} failed`);
      process.stderr.write(`otel-contracts stack ${action} failed: ${(err as Error).message}\n`);
    }
    return 1;
  }
}
