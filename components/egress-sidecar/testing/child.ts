import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The sidecar as a child process, as `npm start` runs it, optionally behind a prefix such as
 * `ip netns exec NS`. Its pino lines (stderr) are collected; the ports come from the "listening" line.
 */

/** Path of main.ts. */
export const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
/** Path of a file next to this one. */
export const TESTING = (file: string) => fileURLToPath(new URL(`./${file}`, import.meta.url));

/** A sidecar child. */
export interface ChildSidecar {
  readonly child: ChildProcess;
  readonly dnsPort: number;
  readonly httpPort: number;
  /** The parsed "listening" log line. */
  readonly ready: Record<string, unknown>;
  /** Every stderr line so far, parsed when JSON. */
  readonly lines: Record<string, unknown>[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Stops a child: SIGTERM, SIGKILL after `graceMs`. Resolves with its exit code. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

/**
 * Spawns `[...prefix, node, main.ts, ...args]` and waits for the listening line.
 * @throws with the child's output when it exits first or is not ready within `timeoutMs`.
 */
export function spawnSidecar(args: readonly string[], env: NodeJS.ProcessEnv, prefix: readonly string[] = [], timeoutMs = 20_000): Promise<ChildSidecar> {
  const cmd = [...prefix, process.execPath, MAIN, ...args];
  const child = spawn(cmd[0] as string, cmd.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let tail = '';
  child.stdout?.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stopChild(child, 1000);
      reject(new Error(`sidecar not ready within ${timeoutMs} ms:\n${lines.map((l) => JSON.stringify(l)).join('\n')}${tail}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited with ${code} before listening:\n${lines.map((l) => JSON.stringify(l)).join('\n')}${tail}`));
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      tail += chunk;
      let nl: number;
      while ((nl = tail.indexOf('\n')) >= 0) {
        const raw = tail.slice(0, nl);
        tail = tail.slice(nl + 1);
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          line = { raw };
        }
        lines.push(line);
        if (typeof line.msg === 'string' && line.msg.startsWith('egress sidecar listening')) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          const port = (v: unknown) => Number(/:(\d+)(?:\/|$)/.exec(String(v))?.[1]);
          resolve({ child, dnsPort: port(line.dns), httpPort: port(String(line.metrics).replace(/\/metrics$/, '')), ready: line, lines, stop: (g) => stopChild(child, g) });
        }
      }
    });
  });
}
