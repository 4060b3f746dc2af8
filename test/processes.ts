/**
 * The programs under test as real child processes: each in its own process group, with an
 * environment scrubbed of the developer's `OTEL_*` (and the like), its output kept (bounded) for
 * assertions and failure messages, and all of them stopped at the end of a test file, with a
 * SIGKILL of every group on exit or interrupt if a test or hook never got to stop them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onLastResort } from './last-resort.ts';
import { pollUntil } from './poll.ts';

/** The repository root (parent of test/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Node 24 from node_modules (the system node is too old for OTel JS 3). */
export const NODE_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'node');
/** The `otel-contracts` command line. */
export const CLI = join(REPO_ROOT, 'bin', 'otel-contracts.ts');

/** Cap on the output kept per stream, so a chatty process cannot grow the test's memory. */
const MAX_OUTPUT = 256 * 1024;

/** The path of the program `name` on PATH or in /usr/sbin (where `ip`, `nft` and `dnsmasq` live), or undefined. */
export function findProgram(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v "$1" || ls "/usr/sbin/$1" 2>/dev/null', 'sh', name], { encoding: 'utf8' });
  return r.stdout?.trim().split('\n')[0] || undefined;
}

/** Environment given to a program under test, over the scrubbed inherited one; `undefined` removes a variable. */
export type ProcessEnv = Readonly<Record<string, string | undefined>>;

/** Options of {@link startProcess}. */
export interface StartOptions {
  /** Working directory. Default: the repository root. */
  readonly cwd?: string;
}

/** How a process ended. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Options of {@link TestProcess.waitForLine}. */
export interface WaitForLineOptions {
  /** Which output to read. Default stdout. */
  readonly stream?: 'stdout' | 'stderr';
  /** Give up after this long. Default 30 s. */
  readonly timeoutMs?: number;
}

/** A running program under test. */
export interface TestProcess {
  readonly name: string;
  /** Its pid, which is also its process group id. */
  readonly pid: number;
  readonly child: ChildProcess;
  /** Standard output so far (the last {@link MAX_OUTPUT} characters). */
  stdout(): string;
  /** Standard error so far (the last {@link MAX_OUTPUT} characters). */
  stderr(): string;
  /** Resolves once the process has exited and both streams are drained. */
  readonly exited: Promise<ExitInfo>;
  /** Null while running. */
  exitInfo(): ExitInfo | null;
  /**
   * Waits for a complete output line matching `re` and returns its match (`match.input` is the line).
   * @throws Error with the process's output when it exits first or the timeout passes.
   */
  waitForLine(re: RegExp, opts?: WaitForLineOptions): Promise<RegExpMatchArray>;
  /**
   * Sends `signal` (default SIGTERM) to the process group and waits for the exit; SIGKILL to the
   * group after `graceMs` (default 15 s). Resolves at once when it already exited.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitInfo>;
  /** Name, pid, exit and the tail of both streams, for assertion messages. */
  describe(): string;
}

const running = new Set<TestProcess>();

/** Sends `signal` to the process group led by `pid`; false when there is none any more. */
function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

function killAllNow(): void {
  for (const p of running) if (p.exitInfo() === null) signalGroup(p.pid, 'SIGKILL');
}
let lastResortInstalled = false;

/** The test runner's environment without what would change what a program under test does. */
function inheritedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('OTEL_') || k.startsWith('OPENSANDBOX_') || k.startsWith('VITEST') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return env;
}

/** The complete lines of `text`, and the unterminated last one too once the process has exited. */
function linesOf(text: string, exited: boolean): string[] {
  const lines = text.split('\n');
  if (!exited) lines.pop();
  return lines;
}

/**
 * Starts `command <args>` in its own process group, in the repository root (or `opts.cwd`), with a
 * clean environment (the runner's `OTEL_*`, `OPENSANDBOX_*`, `NODE_OPTIONS` and vitest variables
 * removed) plus `env`. A prefix such as `ip netns exec NS` is simply the command and the first args.
 * The process is tracked and stopped by {@link stopAllProcesses}.
 * @throws Error when the command cannot be spawned at all.
 */
export function startProcess(name: string, command: string, args: readonly string[], env: ProcessEnv = {}, opts: StartOptions = {}): TestProcess {
  if (!lastResortInstalled) {
    // When afterAll never runs (crash, interrupt): SIGKILL, the only thing possible synchronously.
    onLastResort(killAllNow);
    lastResortInstalled = true;
  }
  const child = spawn(command, [...args], { cwd: opts.cwd ?? REPO_ROOT, env: { ...inheritedEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command} ${args.join(' ')}`);
  const pid = child.pid;
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out = (out + d).slice(-MAX_OUTPUT);
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-MAX_OUTPUT);
  });
  let info: ExitInfo | null = null;
  const exited = new Promise<ExitInfo>((resolveExit) => {
    // 'close', not 'exit': by then both streams are drained, so the last lines are in the output.
    child.once('close', (code, signal) => {
      info = { code, signal };
      resolveExit(info);
    });
    child.once('error', () => {
      info ??= { code: null, signal: null };
      resolveExit(info);
    });
  });
  const tail = (s: string) => s.trimEnd().split('\n').slice(-25).map((l) => `    | ${l.slice(0, 400)}`).join('\n');
  const proc: TestProcess = {
    name,
    pid,
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    exitInfo: () => info,
    describe: () =>
      `${name} (pid ${pid}, ${info ? `exited code=${info.code} signal=${info.signal}` : 'running'})\n  stdout:\n${tail(out)}\n  stderr:\n${tail(err)}`,
    async waitForLine(re, { stream = 'stdout', timeoutMs = 30_000 } = {}) {
      const seen = () => {
        const ended = info !== null;
        for (const line of linesOf(stream === 'stdout' ? out : err, ended)) {
          const m = line.match(re);
          if (m) return { match: m, ended };
        }
        return { match: null, ended };
      };
      const last = await pollUntil(`${name} to print a line matching ${re} on ${stream}`, async () => seen(), (s) => s.match !== null || s.ended, {
        timeoutMs,
        intervalMs: 50,
        describe: () => proc.describe(),
      });
      if (!last.match) throw new Error(`${name} exited before printing a line matching ${re} on ${stream}:\n${proc.describe()}`);
      return last.match;
    },
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (info) return info;
      if (!signalGroup(pid, signal)) return exited;
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** {@link startProcess} for `node <args>` with the repository's Node 24. */
export function startNode(name: string, args: readonly string[], env: ProcessEnv = {}, opts: StartOptions = {}): TestProcess {
  return startProcess(name, NODE_BIN, args, env, opts);
}

/** Options of {@link runProcess}. */
export interface RunOptions extends StartOptions {
  /** SIGKILL to the group after this long. Default 60 s. */
  readonly timeoutMs?: number;
}

/** What {@link runProcess} returns: the exit, both outputs and {@link TestProcess.describe}'s text. */
export interface RunResult extends ExitInfo {
  readonly stdout: string;
  readonly stderr: string;
  readonly describe: string;
}

/** Runs `command <args>` as {@link startProcess} does, to completion (bounded by `opts.timeoutMs`, then SIGKILL to its group). */
export async function runProcess(name: string, command: string, args: readonly string[], env: ProcessEnv = {}, opts: RunOptions = {}): Promise<RunResult> {
  const p = startProcess(name, command, args, env, opts);
  const timer = setTimeout(() => signalGroup(p.pid, 'SIGKILL'), opts.timeoutMs ?? 60_000);
  const result = await p.exited;
  clearTimeout(timer);
  return { ...result, stdout: p.stdout(), stderr: p.stderr(), describe: p.describe() };
}

/** {@link runProcess} for `node <args>` with the repository's Node 24. */
export function runNode(name: string, args: readonly string[], env: ProcessEnv = {}, timeoutMs = 60_000): Promise<RunResult> {
  return runProcess(name, NODE_BIN, args, env, { timeoutMs });
}

/** Stops every process started by this test file that still runs (SIGTERM to its group, then SIGKILL after the grace). */
export async function stopAllProcesses(graceMs = 10_000): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGTERM', graceMs)));
}
