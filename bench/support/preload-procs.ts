import { performance } from 'node:perf_hooks';
import { runNode, startNode, type TestProcess } from '../../test/processes.ts';

/**
 * The preload benchmark's servers and start-up runs, as child processes of test/processes.ts (in
 * the repository root, where `otel-contracts/register` resolves through the package self-reference).
 */

/** One way of starting the server: extra node flags and environment. */
export interface Variant {
  readonly name: string;
  readonly flags: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** False for a peer whose start-up says nothing of a preload a user would install (it is left out of the start-up row). */
  readonly timesStartup?: boolean;
}

/**
 * Starts `node <flags> script` and resolves with its port once it prints `{"port":N}` on stdout.
 * @throws when it exits first (its output in the message).
 */
export async function startServer(v: Variant, script: string): Promise<{ port: number; server: TestProcess }> {
  const server = startNode(`${v.name} server`, [...v.flags, script], v.env);
  const m = await server.waitForLine(/\{"port":(\d+)\}/);
  return { port: Number(m[1]), server };
}

/** Wall time in ms of `node <flags> -e "process.exit(0)"`: process start, preload, exit. */
export async function startupMs(v: Variant): Promise<number> {
  const t0 = performance.now();
  const r = await runNode(`${v.name}: node -e`, [...v.flags, '-e', 'process.exit(0)'], v.env);
  if (r.code !== 0) throw new Error(`${v.name}: node -e exited ${r.code}\n${r.describe}`);
  return performance.now() - t0;
}
