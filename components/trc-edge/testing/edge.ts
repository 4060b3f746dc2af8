import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { logLines, readyLine } from '../../../test/component-log.ts';
import { scrape, total, type SampleLine } from '../../../test/exposition.ts';
import { startNode, type ProcessEnv, type TestProcess } from '../../../test/processes.ts';

/**
 * The trc edge as a child process for tests (`node components/trc-edge/main.ts …` through
 * test/processes.ts, killed as a group), its routes file in a temporary directory, its addresses read
 * from the "trc edge listening" log line on stderr.
 */

/** Path of main.ts. */
export const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

/** A routes document as the file holds it. */
export type RoutesDoc = Record<string, unknown>;

/** A temporary directory holding a routes file. */
export interface RoutesDir {
  readonly path: string;
  /** Replaces the file atomically (write a temporary file, rename it over): one change for the watcher. */
  replace(doc: RoutesDoc | string): void;
  /** Writes the file in place (truncate and write), as a plain `write` does. */
  write(doc: RoutesDoc | string): void;
  remove(): void;
}

/** Creates a directory with `routes.yaml` (or `name`) holding `doc`. */
export function routesDir(doc: RoutesDoc | string, name = 'routes.yaml'): RoutesDir {
  const dir = mkdtempSync(join(tmpdir(), 'trc-edge-routes-'));
  const path = join(dir, name);
  const text = (d: RoutesDoc | string) => (typeof d === 'string' ? d : name.endsWith('.json') ? JSON.stringify(d) : stringify(d));
  writeFileSync(path, text(doc));
  let n = 0;
  return {
    path,
    replace(d) {
      const tmp = join(dir, `.tmp-${n++}`);
      writeFileSync(tmp, text(d));
      renameSync(tmp, path);
    },
    write: (d) => writeFileSync(path, text(d)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A running edge. */
export interface EdgeProcess {
  readonly process: TestProcess;
  readonly metricsUrl: string;
  /** The port of the first listener of `kind`. */
  port(kind?: 'tls' | 'http' | 'tcp'): number;
  /** Every listener as `kind=host:port`. */
  readonly listen: readonly string[];
  /** Parsed stderr lines so far. */
  lines(): Record<string, unknown>[];
  /** One scrape's samples. */
  samples(): Promise<SampleLine[]>;
  /** Sum of a family's samples with `labels` in one scrape. */
  value(name: string, labels?: Record<string, string>): Promise<number>;
  /** SIGHUP (reload the routes). */
  hup(): void;
}

/**
 * Starts an edge on `routes` with `args` (`--metrics 127.0.0.1:0` and a TLS listener on port 0 are added
 * unless given).
 * @throws with the child's output when it exits first or is not ready in 20 s (it is stopped then).
 */
export async function startEdge(name: string, routes: string, args: readonly string[] = [], env: ProcessEnv = {}): Promise<EdgeProcess> {
  const extra = [...(args.includes('--metrics') ? [] : ['--metrics', '127.0.0.1:0']), ...(args.includes('--listen') ? [] : ['--listen', '127.0.0.1:0'])];
  const p = startNode(name, [MAIN, '--routes', routes, ...extra, ...args], { PATH: process.env.PATH, OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000', ...env });
  const ready = await readyLine(p, /trc edge listening/);
  const listen = ready.listen as string[];
  const metricsUrl = String(ready.metrics);
  return {
    process: p,
    metricsUrl,
    listen,
    port: (kind = 'tls') => Number(/:(\d+)$/.exec(listen.find((l) => l.startsWith(`${kind}=`)) ?? '')?.[1]),
    lines: () => logLines(p),
    samples: async () => (await scrape(metricsUrl)).samples,
    value: async (family, labels = {}) => total((await scrape(metricsUrl)).samples, family, labels),
    hup: () => process.kill(p.pid, 'SIGHUP'),
  };
}
