import { fileURLToPath } from 'node:url';
import { logLines, readyLine } from '../../../test/component-log.ts';
import { NODE_BIN, startProcess, type ProcessEnv, type TestProcess } from '../../../test/processes.ts';

/**
 * The sidecar as a child process, as `npm start` runs it (through test/processes.ts), optionally
 * behind a prefix such as `ip netns exec NS`. The ports come from its "listening" log line (stderr).
 */

/** Path of main.ts. */
export const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
/** Path of a file next to this one. */
export const TESTING = (file: string) => fileURLToPath(new URL(`./${file}`, import.meta.url));

/** A sidecar child. */
export interface ChildSidecar {
  readonly process: TestProcess;
  readonly dnsPort: number;
  readonly httpPort: number;
  /** The sidecar's `/metrics` URL. */
  readonly metricsUrl: string;
  /** The parsed "listening" log line. */
  readonly ready: Record<string, unknown>;
  /** Every stderr line so far, parsed when JSON (else `{ raw }`). */
  readonly lines: Record<string, unknown>[];
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 s); resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Starts `[...prefix, node, main.ts, ...args]` with `env` and waits for the listening line.
 * @throws with the child's output when it exits first or is not ready within `timeoutMs` (it is stopped then).
 */
export async function spawnSidecar(args: readonly string[], env: ProcessEnv, prefix: readonly string[] = [], timeoutMs = 20_000): Promise<ChildSidecar> {
  const [command, ...rest] = [...prefix, NODE_BIN, MAIN, ...args] as [string, ...string[]];
  const p = startProcess('egress sidecar', command, rest, env);
  const ready = await readyLine(p, /egress sidecar listening/, timeoutMs);
  const port = (v: unknown) => Number(/:(\d+)(?:\/|$)/.exec(String(v))?.[1]);
  return {
    process: p,
    dnsPort: port(ready.dns),
    httpPort: port(String(ready.metrics).replace(/\/metrics$/, '')),
    metricsUrl: String(ready.metrics),
    ready,
    get lines() {
      return logLines(p);
    },
    stop: async (graceMs = 5000) => (await p.stop('SIGTERM', graceMs)).code,
  };
}
