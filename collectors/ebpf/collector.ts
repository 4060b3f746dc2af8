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
import { createEbpfRecorder } from './record.ts';

/** Options of {@link startEbpfCollector}. */
export interface EbpfCollectorOptions {
  readonly selection: Selection;
  /** The bpftrace binary (see checkPrerequisites). */
  readonly bpftrace: string;
  /** libc files whose resolver functions get uprobes. */
  readonly libcPaths: readonly string[];
  /** The traced processes' cgroup, for the resource families (undefined: none this time). */
  readonly cgroup: () => CgroupLocation | undefined;
  readonly logger: CollectorLogger;
  readonly env?: NodeJS.ProcessEnv;
  /** Interval of the kernel maps' print, ms (default 1000). */
  readonly printIntervalMs?: number;
  /** Interval of the cgroup readings, ms (default 5000, the doc's). */
  readonly cgroupIntervalMs?: number;
  /** How long bpftrace may take to compile and attach (default 60 s). */
  readonly attachTimeoutMs?: number;
}

/** A running eBPF collector. */
export interface EbpfCollector extends Collector {
  /** The number of probes bpftrace attached. */
  readonly probes: number;
  /** bpftrace's pid (also its process group). */
  readonly pid: number;
  /** Settles when bpftrace has exited: with its exit code and signal, whether asked to or not. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; expected: boolean }>;
  /**
   * Stops bpftrace gracefully (SIGINT to its process group: its END prints the final maps, recorded
   * here), SIGKILL after `graceMs` (default 5 s); then records the cgroup a last time. Idempotent.
   */
  close(graceMs?: number): Promise<void>;
}

/** Lines of bpftrace's stderr that say nothing useful on these machines. */
const QUIET_STDERR = /RLIMIT_MEMLOCK|^Attaching \d+ probes/;

/**
 * Runs one bpftrace program (collectors/ebpf/program.ts) for the selection and records its prints into
 * the podtrace recorders (record.ts), and reads the traced processes' cgroup for the four resource
 * families with the cgroup collector's readers, every `cgroupIntervalMs`.
 *
 * bpftrace runs in its own process group with `-f json`; its stdout is read line by line, its stderr
 * is logged (errors at warn). Resolves once the probes are attached.
 *
 * @throws Error with bpftrace's own message when it exits or fails to attach within the timeout.
 */
export async function startEbpfCollector(rec: PodtraceRecorders, opts: EbpfCollectorOptions): Promise<EbpfCollector> {
  const { logger } = opts;
  const program = buildProgram(opts.selection, { libcPaths: opts.libcPaths, intervalMs: opts.printIntervalMs });
  const child: ChildProcess = spawn(opts.bpftrace, ['-f', 'json', '-B', 'none', '--no-warnings', '-e', program], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...(opts.env ?? process.env), BPFTRACE_MAP_KEYS_MAX: (opts.env ?? process.env).BPFTRACE_MAP_KEYS_MAX ?? '16384' },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${opts.bpftrace}`);
  let stopping = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; expected: boolean }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, expected: stopping }));
    child.once('error', (err) => {
      logger.error({ err: err.message }, 'bpftrace could not run');
      resolve({ code: null, signal: null, expected: stopping });
    });
  });

  const stderrTail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (!line.trim()) return;
    stderrTail.push(line);
    if (stderrTail.length > 30) stderrTail.shift();
    if (QUIET_STDERR.test(line)) logger.debug({ bpftrace: line }, 'bpftrace');
    else if (/ERROR|FATAL/.test(line)) logger.error({ bpftrace: line }, 'bpftrace error');
    else logger.warn({ bpftrace: line }, 'bpftrace');
  });

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

  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const attachTimeoutMs = opts.attachTimeoutMs ?? 60_000;
  const outcome = await Promise.race([
    readyP.then(() => ({ probes })),
    exited.then((e) => ({ exit: e })),
    new Promise<{ timeout: true }>((resolve) => (timer = setTimeout(() => resolve({ timeout: true }), attachTimeoutMs))),
  ]);
  clearTimeout(timer);
  if (!('probes' in outcome)) {
    stopping = true;
    signalGroup('SIGKILL');
    await exited;
    const why = 'exit' in outcome ? `bpftrace exited (code ${outcome.exit.code}, signal ${outcome.exit.signal}) before attaching` : `bpftrace did not attach within ${attachTimeoutMs} ms`;
    const tail = stderrTail.filter((l) => !QUIET_STDERR.test(l)).join('\n');
    throw new Error(`${why}${tail ? `:\n${tail}` : ''}`);
  }

  // Resource families from the traced processes' cgroup.
  const recordCgroup = createCgroupRecorder(rec, resolveNamespace(opts.env));
  let cgroupSource = 'none yet';
  const readResources = () => {
    const loc = opts.cgroup();
    if (!loc) return;
    cgroupSource = loc.version === 2 ? `cgroup v2 ${loc.dir}` : `cgroup v1 ${loc.dirs.memory ?? Object.values(loc.dirs)[0] ?? ''}`;
    recordCgroup(readCgroup(loc), performance.now());
  };
  readResources();
  const cgroupTimer = setInterval(readResources, opts.cgroupIntervalMs ?? 5_000);
  cgroupTimer.unref();

  let closing: Promise<void> | undefined;
  return {
    name: 'ebpf',
    source: `bpftrace (${describeSelection(opts.selection)}, ${outcome.probes} probes; resources from ${cgroupSource})`,
    probes: outcome.probes,
    pid,
    exited,
    flush: readResources,
    stop() {
      stopping = true;
      clearInterval(cgroupTimer);
      signalGroup('SIGINT');
    },
    close(graceMs = 5_000) {
      return (closing ??= (async () => {
        stopping = true;
        clearInterval(cgroupTimer);
        signalGroup('SIGINT');
        const kill = setTimeout(() => signalGroup('SIGKILL'), graceMs);
        await exited;
        clearTimeout(kill);
        readResources();
      })());
    },
  };
}
