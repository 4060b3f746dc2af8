import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { readCgroup } from '../cgroup/collector.ts';
import type { CgroupLocation } from '../cgroup/locate.ts';
import { resolveNamespace } from '../cgroup/namespace.ts';
import { createCgroupRecorder } from '../cgroup/record.ts';
import type { Collector, CollectorLogger, PodtraceRecorders } from '../types.ts';
import { parseLine } from './parse.ts';
import { buildProgram, describeSelection, READY_LINE, type Selection } from './program.ts';
import { createEbpfRecorder, recordKnownSeries } from './record.ts';

/** Options of {@link startEbpfCollector}. */
export interface EbpfCollectorOptions {
  readonly selection: Selection;
  /** The bpftrace binary (see checkPrerequisites). */
  readonly bpftrace: string;
  /** libc files whose resolver functions get uprobes. */
  readonly libcPaths: readonly string[];
  /** The traced processes' cgroup, for the resource families (undefined: none this time). */
  readonly cgroup: () => CgroupLocation | undefined;
  /** Process names known before bpftrace attaches: their series start at zero (see `recordKnownSeries`). */
  readonly knownProcessNames?: readonly string[];
  readonly logger: CollectorLogger;
  readonly env?: NodeJS.ProcessEnv;
  /** Interval of the kernel maps' print, ms (default 1000). */
  readonly printIntervalMs?: number;
  /** Interval of the cgroup readings, ms (default 5000, the doc's). */
  readonly cgroupIntervalMs?: number;
  /** How long bpftrace may take to compile and attach (default 60 s). */
  readonly attachTimeoutMs?: number;
  /**
   * Restart bpftrace when it dies unexpectedly, while `alive()` says the target still lives: after
   * `minBackoffMs` (default 1 s), doubling on each failure up to `maxBackoffMs` (default 30 s); back to
   * the minimum once a bpftrace has run for `maxBackoffMs`. Without it, a death ends the collector.
   */
  readonly restart?: {
    readonly alive: () => boolean;
    /** Called once per bpftrace restarted and attached. */
    readonly onRestart?: (bpftracePid: number) => void;
    readonly minBackoffMs?: number;
    readonly maxBackoffMs?: number;
  };
}

/** How a bpftrace run ended. */
export interface BpftraceExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when the collector asked it to stop. */
  readonly expected: boolean;
}

/** A running eBPF collector. */
export interface EbpfCollector extends Collector {
  /** The number of probes bpftrace attached. */
  readonly probes: number;
  /** The current bpftrace's pid (also its process group); changes when bpftrace is restarted. */
  readonly pid: number;
  /** Restarts so far (bpftrace died and a new one attached). */
  readonly restarts: number;
  /**
   * Settles when the collector has stopped for good: closed (expected), or bpftrace died and was not
   * restarted (no `restart` option, or the target is gone), with the last bpftrace's code and signal.
   */
  readonly exited: Promise<BpftraceExit>;
  /**
   * Stops bpftrace gracefully (SIGINT to its process group: its END prints the final maps, recorded
   * here), SIGKILL after `graceMs` (default 5 s); then records the cgroup a last time. Idempotent.
   */
  close(graceMs?: number): Promise<void>;
}

/** Lines of bpftrace's stderr that say nothing useful on these machines. */
const QUIET_STDERR = /RLIMIT_MEMLOCK|^Attaching \d+ probes/;

/** Sends `sig` to the process group `pid`; nothing when it is gone. */
function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}

/** One attached bpftrace. */
interface Run {
  readonly pid: number;
  readonly probes: number;
  /** Settles when this bpftrace has exited (expected: not decided here). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines of its stderr that say something. */
  stderrTail(): string;
}

/**
 * Starts one bpftrace with `program`, recording its prints through a fresh delta recorder (a new
 * bpftrace's maps start at zero). `onSpawn` gets its pid at once, so that a close while it attaches
 * can stop it. Resolves once its probes are attached.
 * @throws Error with bpftrace's own message when it exits or fails to attach within the timeout.
 */
async function startRun(rec: PodtraceRecorders, opts: EbpfCollectorOptions, program: string, onSpawn: (pid: number) => void): Promise<Run> {
  const { logger } = opts;
  const child: ChildProcess = spawn(opts.bpftrace, ['-f', 'json', '-B', 'none', '--no-warnings', '-e', program], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...(opts.env ?? process.env), BPFTRACE_MAP_KEYS_MAX: (opts.env ?? process.env).BPFTRACE_MAP_KEYS_MAX ?? '16384' },
  });
  const pid = child.pid;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      logger.error({ err: err.message }, 'bpftrace could not run');
      resolve({ code: null, signal: null });
    });
  });
  if (pid === undefined) {
    await exited;
    throw new Error(`could not start ${opts.bpftrace}`);
  }
  onSpawn(pid);

  const stderrLines: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (!line.trim()) return;
    stderrLines.push(line);
    if (stderrLines.length > 30) stderrLines.shift();
    if (QUIET_STDERR.test(line)) logger.debug({ bpftrace: line }, 'bpftrace');
    else if (/ERROR|FATAL/.test(line)) logger.error({ bpftrace: line }, 'bpftrace error');
    else logger.warn({ bpftrace: line }, 'bpftrace');
  });
  const stderrTail = () => stderrLines.filter((l) => !QUIET_STDERR.test(l)).join('\n');

  const ebpf = createEbpfRecorder(rec);
  let probes = 0;
  let ready: () => void = () => {};
  const readyP = new Promise<void>((resolve) => (ready = resolve));
  let lost = 0;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const l = parseLine(line);
    if (!l) return;
    if (l.kind === 'map') ebpf.map(l.name, l.entries);
    else if (l.kind === 'attached') probes = l.probes;
    else if (l.kind === 'printf') {
      if (l.text.trim() === READY_LINE) ready();
      const m = /^exit (\d+)/.exec(l.text);
      if (m) logger.info({ pid: Number(m[1]) }, `traced process ${m[1]} exited`);
    } else if (l.kind === 'lost') {
      lost += l.events;
      logger.warn({ lost }, 'bpftrace lost events');
    }
  });

  let timer: NodeJS.Timeout | undefined;
  const attachTimeoutMs = opts.attachTimeoutMs ?? 60_000;
  const outcome = await Promise.race([
    readyP.then(() => ({ probes })),
    exited.then((e) => ({ exit: e })),
    new Promise<{ timeout: true }>((resolve) => (timer = setTimeout(() => resolve({ timeout: true }), attachTimeoutMs))),
  ]);
  clearTimeout(timer);
  if (!('probes' in outcome)) {
    signalGroup(pid, 'SIGKILL');
    await exited;
    const why = 'exit' in outcome ? `bpftrace exited (code ${outcome.exit.code}, signal ${outcome.exit.signal}) before attaching` : `bpftrace did not attach within ${attachTimeoutMs} ms`;
    const tail = stderrTail();
    throw new Error(`${why}${tail ? `:\n${tail}` : ''}`);
  }
  return { pid, probes: outcome.probes, exited, stderrTail };
}

/** The traced processes' cgroup, read for the four resource families. */
interface CgroupResources {
  /** Reads the cgroup now and records it (nothing while there is no cgroup). */
  read(): void;
  /** Where the readings come from, for the collector's `source`. */
  source(): string;
}

function cgroupResources(rec: PodtraceRecorders, opts: EbpfCollectorOptions): CgroupResources {
  const recordCgroup = createCgroupRecorder(rec, resolveNamespace(opts.env));
  let source = 'none yet';
  return {
    read: () => {
      const loc = opts.cgroup();
      if (!loc) return;
      source = loc.version === 2 ? `cgroup v2 ${loc.dir}` : `cgroup v1 ${loc.dirs.memory ?? Object.values(loc.dirs)[0] ?? ''}`;
      recordCgroup(readCgroup(loc), performance.now());
    },
    source: () => source,
  };
}

/**
 * Supervision of the collector's bpftrace: waits for the current one to exit and, unless asked to stop,
 * restarts it with backoff (`opts.restart`) while the target lives.
 */
class Supervision {
  /** The current bpftrace (attached). */
  run: Run;
  restarts = 0;
  /** Settles when the collector has stopped for good (see {@link EbpfCollector.exited}). */
  readonly exited: Promise<BpftraceExit>;
  private stopping = false;
  /** Cuts the current backoff pause short (a stop). */
  private wake: () => void = () => {};
  private readonly startAgain: () => Promise<Run>;
  private readonly opts: EbpfCollectorOptions;
  private readonly minMs: number;
  private readonly maxMs: number;

  /** @param startAgain starts and attaches a new bpftrace (startRun with the collector's program). */
  constructor(first: Run, startAgain: () => Promise<Run>, opts: EbpfCollectorOptions) {
    this.run = first;
    this.startAgain = startAgain;
    this.opts = opts;
    this.minMs = opts.restart?.minBackoffMs ?? 1_000;
    this.maxMs = Math.max(this.minMs, opts.restart?.maxBackoffMs ?? 30_000);
    this.exited = this.supervise();
  }

  /** No restart from now on; a pending one is abandoned at once. */
  stop(): void {
    this.stopping = true;
    this.wake();
  }

  private async supervise(): Promise<BpftraceExit> {
    const { logger, restart } = this.opts;
    let backoff = this.minMs;
    for (;;) {
      const startedAt = performance.now();
      const e = await this.run.exited;
      if (this.stopping) return { ...e, expected: true };
      if (performance.now() - startedAt >= this.maxMs) backoff = this.minMs;
      const tail = this.run.stderrTail();
      if (!restart) {
        logger.error({ code: e.code, signal: e.signal, ...(tail ? { stderr: tail } : {}) }, 'bpftrace exited unexpectedly');
        return { ...e, expected: false };
      }
      logger.error({ code: e.code, signal: e.signal, bpftracePid: this.run.pid, restarts: this.restarts, backoffMs: backoff, ...(tail ? { stderr: tail } : {}) }, `bpftrace exited unexpectedly: restarting it in ${backoff} ms`);
      const restarted = await this.restart(restart, backoff);
      if ('expected' in restarted) return { ...e, expected: restarted.expected };
      backoff = restarted.backoff;
    }
  }

  /**
   * Starts a new bpftrace after `backoff`, again with a doubled backoff while the start fails.
   * @returns the next backoff once one attached; `expected` when the collector ends instead (stopped, or the target is gone).
   */
  private async restart(restart: NonNullable<EbpfCollectorOptions['restart']>, backoff: number): Promise<{ backoff: number } | { expected: boolean }> {
    const { logger } = this.opts;
    for (;;) {
      await this.sleep(backoff);
      if (this.stopping) return { expected: true };
      if (!restart.alive()) {
        logger.error({ target: describeSelection(this.opts.selection) }, 'bpftrace exited unexpectedly and the traced target is gone: not restarting');
        return { expected: false };
      }
      try {
        this.run = await this.startAgain();
      } catch (err) {
        if (this.stopping) return { expected: true };
        backoff = Math.min(backoff * 2, this.maxMs);
        logger.error({ err: (err as Error).message, backoffMs: backoff }, `bpftrace restart failed: trying again in ${backoff} ms`);
        continue;
      }
      this.restarts += 1;
      const { pid, probes } = this.run;
      logger.warn({ bpftracePid: pid, probes, restarts: this.restarts }, `bpftrace restarted (${this.restarts} so far), ${probes} probes attached`);
      try {
        restart.onRestart?.(pid);
      } catch {
        // a counter's failure never stops tracing
      }
      if (this.stopping) signalGroup(pid, 'SIGINT');
      return { backoff: Math.min(backoff * 2, this.maxMs) };
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

/**
 * Runs one bpftrace program (collectors/ebpf/program.ts) for the selection and records its prints into
 * the podtrace recorders (record.ts), and reads the traced processes' cgroup for the four resource
 * families with the cgroup collector's readers, every `cgroupIntervalMs`.
 *
 * bpftrace runs in its own process group with `-f json`; its stdout is read line by line, its stderr
 * is logged (errors at warn). Resolves once the probes are attached. When bpftrace dies unexpectedly
 * it is logged and, with `restart`, started again with backoff while the target lives.
 *
 * @throws Error with bpftrace's own message when it exits or fails to attach within the timeout.
 */
export async function startEbpfCollector(rec: PodtraceRecorders, opts: EbpfCollectorOptions): Promise<EbpfCollector> {
  const program = buildProgram(opts.selection, { libcPaths: opts.libcPaths, intervalMs: opts.printIntervalMs });
  let currentPid = 0;
  const start = () => startRun(rec, opts, program, (pid) => (currentPid = pid));

  // Resource families from the traced processes' cgroup: read once before bpftrace starts and again once it
  // has attached (about 2 s later), so that the first scrape already has the CPU utilization, which needs two readings.
  const resources = cgroupResources(rec, opts);
  recordKnownSeries(rec, opts.knownProcessNames ?? []);
  resources.read();

  const supervision = new Supervision(await start(), start, opts);
  resources.read();
  const cgroupTimer = setInterval(resources.read, opts.cgroupIntervalMs ?? 5_000);
  cgroupTimer.unref();
  const { exited } = supervision;
  void exited.then(() => clearInterval(cgroupTimer));

  let closing: Promise<void> | undefined;
  const stop = () => {
    supervision.stop();
    clearInterval(cgroupTimer);
    signalGroup(currentPid, 'SIGINT');
  };
  return {
    name: 'ebpf',
    source: `bpftrace (${describeSelection(opts.selection)}, ${supervision.run.probes} probes; resources from ${resources.source()})`,
    get probes() {
      return supervision.run.probes;
    },
    get pid() {
      return currentPid;
    },
    get restarts() {
      return supervision.restarts;
    },
    exited,
    flush: resources.read,
    stop,
    close(graceMs = 5_000) {
      return (closing ??= (async () => {
        stop();
        const kill = setTimeout(() => signalGroup(currentPid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(kill);
        resources.read();
      })());
    },
  };
}
