import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A child process started by a test, with its output collected. */
export interface Child {
  readonly proc: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (or the signal name) when the child exits. */
  readonly exited: Promise<number | string>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Starts `node <script> ...args` with the running Node (24), in the repository root. */
export function startNode(args: string[], env: Record<string, string>): Child {
  const proc = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  const child: Child = {
    proc,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => proc.once('exit', (code, signal) => {
      running.delete(proc);
      resolve(code ?? String(signal));
    })),
  };
  proc.stdout?.on('data', (d: Buffer) => (child.stdout += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (child.stderr += d.toString()));
  return child;
}

/** Waits until `predicate` holds for the child, or fails after `timeoutMs` with its output. */
export async function waitFor(child: Child, predicate: (c: Child) => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate(child)) {
    if (child.proc.exitCode !== null) throw new Error(`child exited early (${child.proc.exitCode}):\n${child.stderr}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for the child:\nstdout: ${child.stdout}\nstderr: ${child.stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Stops a child that is still running (SIGKILL), for afterEach. */
export function stop(child: Child | undefined): void {
  if (child && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
}
