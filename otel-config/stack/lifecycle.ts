// Starting, stopping and reporting the parts: the programmatic API behind `otel-contracts stack`
// and the e2e harness.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, pidFile, readOwnedPid, runningParts, writePidFile } from './pid-files.ts';
import { HOST, STACK_PORTS, StackError, logFile, rel, resolveOptions } from './parts.ts';
import type { PartSpec, Resolved, StackOptions } from './parts.ts';
import { httpOk, portFree, preflight, sleep, waitReady } from './readiness.ts';
import { haproxyGatewaysUp } from './haproxy-stats.ts';
import { claimTopology, releaseTopology } from './topology-guard.ts';
import { inStopOrder, scaledPorts } from './topology.ts';
import type { RoleName, Topology } from './topology.ts';

/** One part of the stack as `status` sees it. */
export interface PartStatus {
  /** Its role: `prometheus`, `pushgateway`, `collector`; `haproxy`, `gateway-N`, `backend-N`, `vmagent`, `shard-N`. */
  name: RoleName;
  /** PID from the state file, when that process is still ours and alive. */
  pid: number | null;
  running: boolean;
  /** The part answers its readiness check. */
  ready: boolean;
  listen: string[];
  /** Main URL (UI, OTLP/HTTP endpoint, push URL). */
  url: string;
  /** The address `status` shows. */
  address: string;
  /** More about its health when there is more to say (HAProxy: how many gateways it sees up). */
  detail?: string;
  log: string;
  /** Set when the part is not running but one of its ports is taken by something else. */
  conflict?: string;
}

/** The stack after `up` or `status`: its parts and the URLs to point components at. */
export interface StackInfo {
  topology: Topology;
  parts: PartStatus[];
  /** Parts this call started (the others were already running). */
  started: RoleName[];
  /** Prometheus; in the scaled topology the first shard (each shard serves the Prometheus query API). */
  prometheusUrl: string;
  /** Where queries go: Prometheus, or every shard. */
  queryUrls: string[];
  /** The OTLP ingress: the collector, or HAProxy in front of the gateways. */
  otlpHttpEndpoint: string;
  otlpGrpcEndpoint: string;
  /** The Pushgateway (single-node topology only). */
  pushgatewayUrl?: string;
  stateDir: string;
}

/** How long a stopped part gets between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 10_000;

function launch(r: Resolved, spec: PartSpec, bin: string): ChildProcess {
  if (spec.configFile) writeFileSync(spec.configFile.path, spec.configFile.content);
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
    throw new StackError(spec.name, `could not start ${bin}`, `see ${rel(logPath)}`);
  }
  child.on('error', () => undefined);
  child.unref();
  writePidFile(r, spec.name, child.pid, bin, spec.args);
  r.log.debug({ part: spec.name, childPid: child.pid, bin }, 'spawned');
  return child;
}

async function stopPid(r: Resolved, name: string, pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + STOP_GRACE_MS;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  r.log.warn({ part: name, childPid: pid }, `did not stop within ${STOP_GRACE_MS} ms; sending SIGKILL`);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  const killDeadline = Date.now() + 5_000;
  while (Date.now() < killDeadline && isAlive(pid)) await sleep(50);
}

async function stopOne(r: Resolved, name: RoleName): Promise<boolean> {
  const pid = readOwnedPid(r, name);
  if (pid !== null) {
    await stopPid(r, name, pid);
    r.log.info({ part: name, childPid: pid }, 'stopped');
  }
  rmSync(pidFile(r, name), { force: true });
  return pid !== null;
}

async function statusOf(r: Resolved, name: RoleName): Promise<PartStatus> {
  const spec = r.specs.get(name)!;
  const pid = readOwnedPid(r, name);
  const running = pid !== null;
  const ready = running && (await httpOk(spec.readyUrl, 500));
  const st: PartStatus = { name, pid, running, ready, listen: spec.listen, url: spec.url, address: spec.address ?? spec.url, log: logFile(r, name) };
  if (running && name === 'haproxy' && r.layout) {
    const up = await haproxyGatewaysUp(`http://${HOST}:${scaledPorts(r.layout).haproxyMonitor}`);
    if (up) st.detail = `${up.up}/${up.total} gateways up`;
  }
  if (!running) {
    const taken: string[] = [];
    for (const { port } of spec.ports) if (!(await portFree(port))) taken.push(String(port));
    if (taken.length) st.conflict = `port ${taken.join(', ')} in use by another process`;
  }
  return st;
}

function info(r: Resolved, parts: PartStatus[], started: RoleName[]): StackInfo {
  if (r.layout) {
    const ports = scaledPorts(r.layout);
    const shards = [...r.specs.values()].filter((s) => s.name.startsWith('shard-')).map((s) => s.url);
    return {
      topology: r.topology,
      parts,
      started,
      prometheusUrl: shards[0] as string,
      queryUrls: shards,
      otlpHttpEndpoint: `http://${HOST}:${ports.otlpHttp}`,
      otlpGrpcEndpoint: `http://${HOST}:${ports.otlpGrpc}`,
      stateDir: r.stateDir,
    };
  }
  const P = STACK_PORTS;
  return {
    topology: r.topology,
    parts,
    started,
    prometheusUrl: `http://${HOST}:${P.prometheus}`,
    queryUrls: [`http://${HOST}:${P.prometheus}`],
    otlpHttpEndpoint: `http://${HOST}:${P.otlpHttp}`,
    otlpGrpcEndpoint: `http://${HOST}:${P.otlpGrpc}`,
    pushgatewayUrl: `http://${HOST}:${P.pushgateway}`,
    stateDir: r.stateDir,
  };
}

// ------------------------------------------------------------------ on resolved options

/** {@link provision} for options already resolved. */
export function provisionResolved(r: Resolved, part: ProvisionPart = 'all'): Promise<number> {
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

/** {@link startStack} for options already resolved. */
export async function startResolved(r: Resolved): Promise<StackInfo> {
  if (r.opts.provision) {
    const single = r.topology === 'single' && !r.parts.includes('prometheus') && !r.parts.includes('pushgateway');
    const code = await provisionResolved(r, single ? 'collector' : 'all');
    if (code !== 0) throw new StackError('provision', `otel-config/provision.sh failed (exit ${code})`, 'see its output above');
  }
  mkdirSync(r.stateDir, { recursive: true });
  // One topology at a time in a state directory (they share the OTLP ports).
  claimTopology(r);
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
  if (r.opts.fresh) {
    for (const { spec } of toStart) for (const dir of spec.dataDirs ?? []) rmSync(dir, { recursive: true, force: true });
  }

  const started: RoleName[] = [];
  const children = new Map<RoleName, ChildProcess>();
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
    if (runningParts(r).length === 0) releaseTopology(r);
    throw err;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  return statusResolved(r, started);
}

/**
 * {@link stopStack} for options already resolved. Without `parts`: every process of either topology that
 * has a PID file in the state directory (whichever topology is up), ingress first, storage last.
 */
export async function stopResolved(r: Resolved): Promise<RoleName[]> {
  const names = r.opts.parts ? [...r.parts].reverse() : inStopOrder([...new Set([...r.parts, ...runningParts(r)])]);
  const stopped: RoleName[] = [];
  for (const name of names) {
    if (await stopOne(r, name)) stopped.push(name);
  }
  if (!r.opts.parts) releaseTopology(r);
  return stopped;
}

/** {@link stackStatus} for options already resolved; `started` goes into the result as is. */
export async function statusResolved(r: Resolved, started: RoleName[] = []): Promise<StackInfo> {
  const parts = await Promise.all(r.parts.map((n) => statusOf(r, n)));
  return info(r, parts, started);
}

// ------------------------------------------------------------------ public API

/** What provision.sh installs: everything, the Debian packages, the collector, or VictoriaMetrics and vmagent. */
export type ProvisionPart = 'all' | 'packages' | 'collector' | 'victoriametrics';

/** Run otel-config/provision.sh (packages, cached collector and VictoriaMetrics builds). Resolves to its exit code. */
export function provision(opts: StackOptions = {}, part: ProvisionPart = 'all'): Promise<number> {
  return provisionResolved(resolveOptions(opts), part);
}

/**
 * Start the stack (or the selected parts) and wait until each is ready. Parts already running
 * are left as they are. On failure, stops every part this call started and throws StackError.
 */
export async function startStack(opts: StackOptions = {}): Promise<StackInfo> {
  return startResolved(resolveOptions(opts));
}

/**
 * Stop the stack (or the selected parts), ingress first: without `parts`, whichever topology is up.
 * Returns the parts that were running.
 */
export async function stopStack(opts: StackOptions = {}): Promise<RoleName[]> {
  return stopResolved(resolveOptions(opts));
}

/** What runs, where it listens, and whether it answers its readiness check. */
export async function stackStatus(opts: StackOptions = {}): Promise<StackInfo> {
  return statusResolved(resolveOptions(opts));
}

/** Start one part (e.g. restart the collector, a backend or a shard after an outage test). */
export function startPart(name: RoleName, opts: StackOptions = {}): Promise<StackInfo> {
  return startStack({ ...opts, parts: [name] });
}

/** Stop one part; resolves to true when it was running. */
export async function stopPart(name: RoleName, opts: StackOptions = {}): Promise<boolean> {
  return (await stopStack({ ...opts, parts: [name] })).length > 0;
}
