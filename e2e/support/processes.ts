/**
 * The programs under test as real child processes: spawned with the repository's Node 24, their
 * output kept (bounded) for failure messages, and all of them stopped at the end of a test file,
 * with a SIGKILL fallback on exit or interrupt if a test or hook never got to stop them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onLastResort } from './last-resort.ts';
import { pollUntil } from './poll.ts';

/** The repository root (parent of e2e/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Node 24 from node_modules (the system node is too old for OTel JS 3). */
export const NODE_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'node');
/** The `otel-contracts` command line. */
export const CLI = join(REPO_ROOT, 'bin', 'otel-contracts.ts');

/** Cap on the output kept per stream, so a chatty process cannot grow the test's memory. */
const MAX_OUTPUT = 256 * 1024;

/** How a process ended. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running program under test. */
export interface TestProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Standard output so far (the last {@link MAX_OUTPUT} characters). */
  stdout(): string;
  /** Standard error so far (the last {@link MAX_OUTPUT} characters). */
  stderr(): string;
  /** Resolves once the process has exited. */
  readonly exited: Promise<ExitInfo>;
  /** Null while running. */
  exitInfo(): ExitInfo | null;
  /**
   * Waits for a stdout line matching `re` and returns its match.
   * @throws Error with the process's output when it exits first or the timeout passes.
   */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /**
   * Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL after `graceMs` (default 15 s).
   * Resolves at once when it already exited.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitInfo>;
  /** Name, pid, exit and the tail of both streams, for assertion messages. */
  describe(): string;
}

const running = new Set<TestProcess>();

function killAllNow(): void {
  for (const p of running) {
    if (p.exitInfo() === null) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
let lastResortInstalled = false;

/** Variables of the test runner's environment that would change what a program under test does. */
function inheritedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('OTEL_') || k.startsWith('OPENSANDBOX_') || k.startsWith('VITEST') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return env;
}

/**
 * Starts `node <args>` in the repository root with a clean environment (the runner's `OTEL_*`,
 * `OPENSANDBOX_*`, `NODE_OPTIONS` and vitest variables removed) plus `env`. The process is tracked
 * and stopped by {@link stopAllProcesses}.
 */
export function startNode(name: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): TestProcess {
  if (!lastResortInstalled) {
    // When afterAll never runs (crash, interrupt): SIGKILL, the only thing possible synchronously.
    onLastResort(killAllNow);
    lastResortInstalled = true;
  }
  const child = spawn(NODE_BIN, [...args], { cwd: REPO_ROOT, env: { ...inheritedEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${NODE_BIN} ${args.join(' ')}`);
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
    async waitForLine(re, timeoutMs = 30_000) {
      let found: RegExpMatchArray | null = null;
      await pollUntil(
        `${name} to print a line matching ${re}`,
        async () => {
          for (const line of out.split('\n')) {
            const m = line.match(re);
            if (m) {
              found = m;
              return true;
            }
          }
          if (info) throw new Error(`${name} exited first:\n${proc.describe()}`);
          return false;
        },
        (ok) => ok,
        { timeoutMs, intervalMs: 50, describe: () => proc.describe() },
      );
      return found!;
    },
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (info) return info;
      try {
        process.kill(pid, signal);
      } catch {
        return exited;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** Runs `node <args>` to completion (bounded by `timeoutMs`, then SIGKILL) and returns its exit and output. */
export async function runNode(name: string, args: readonly string[], env: Readonly<Record<string, string>> = {}, timeoutMs = 60_000): Promise<ExitInfo & { stdout: string; stderr: string; describe: string }> {
  const p = startNode(name, args, env);
  const timer = setTimeout(() => {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, timeoutMs);
  const result = await p.exited;
  clearTimeout(timer);
  return { ...result, stdout: p.stdout(), stderr: p.stderr(), describe: p.describe() };
}

/** Stops every process started by this test file that still runs (SIGTERM, then SIGKILL after the grace). */
export async function stopAllProcesses(graceMs = 10_000): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGTERM', graceMs)));
}
