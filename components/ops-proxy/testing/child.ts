import { fileURLToPath } from 'node:url';
import { logLines, readyLine } from '../../../test/component-log.ts';
import { startNode, type ProcessEnv, type TestProcess } from '../../../test/processes.ts';

/**
 * An ops-proxy peer as a child process (`node components/ops-proxy/main.ts …`, through
 * test/processes.ts); its addresses come from the "ops proxy listening" log line on stderr.
 */

/** Path of main.ts. */
export const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

/** The token the tests share. */
export const TOKEN = 'test-token-7d1f';

/** Base environment of a peer under test. */
export const PEER_ENV: ProcessEnv = { PATH: process.env.PATH, OPS_PROXY_TOKEN: TOKEN, OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000', NODE_NAME: 'node-a', POD_NAME: 'pod-a' };

/** A running peer. */
export interface Peer {
  readonly process: TestProcess;
  /** The parsed listening line. */
  readonly ready: Record<string, unknown>;
  readonly metricsUrl: string;
  /** Port of a `HOST:PORT` field of the listening line (`control`, `http`, `https`). */
  port(field: 'control' | 'http' | 'https'): number;
  /** Port of the `--tcp` route of `name`. */
  tcpPort(name: string): number;
  /** Parsed stderr lines so far. */
  lines(): Record<string, unknown>[];
  /** SIGTERM (then SIGKILL after `graceMs`); resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

const portOf = (v: unknown) => Number(/:(\d+)$/.exec(String(v))?.[1]);

/**
 * Starts a peer with `args` (add `--metrics 127.0.0.1:0` yourself or it takes the default port).
 * @throws with the child's output when it exits first or is not ready in 20 s (it is stopped then).
 */
export async function startPeer(name: string, args: readonly string[], env: ProcessEnv = {}): Promise<Peer> {
  const p = startNode(name, [MAIN, ...args], { ...PEER_ENV, ...env });
  const ready = await readyLine(p, /ops proxy listening/);
  return {
    process: p,
    ready,
    metricsUrl: String(ready.metrics),
    port: (field) => portOf(ready[field]),
    tcpPort: (route) => portOf((ready.tcp as string[]).find((t) => t.startsWith(`${route}=`))),
    lines: () => logLines(p),
    stop: async (graceMs = 5000) => (await p.stop('SIGTERM', graceMs)).code,
  };
}
