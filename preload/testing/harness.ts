/**
 * Test support for the preload: runs an app as a child process with the preload flag (through
 * test/processes.ts, so `afterEach(() => stopAllProcesses())` ends it), and reads the app's "ready"
 * line and the preload's start-up line. Its `/metrics` is read with test/exposition.ts.
 */
import { join } from 'node:path';
import { REPO_ROOT, startNode, type ProcessEnv, type TestProcess } from '../../test/processes.ts';

/** Directory of the fixture apps. */
export const FIXTURES = join(REPO_ROOT, 'preload', 'fixtures');

/** The preload's start-up line (pino JSON). */
export interface StartupLine {
  readonly msg: string;
  readonly scrapeUrl?: string;
  readonly pushUrl?: string;
  readonly cpuBlockSource: string;
  readonly collectors: readonly string[];
  readonly processMetrics: string;
  readonly clusterRole: string;
}

/** A running app. */
export interface AppProcess extends TestProcess {
  /** Resolves with the first stdout line that is a JSON object (the fixture's "ready" line). Rejects if the app exits first. */
  readonly ready: Promise<Record<string, unknown>>;
  /** Resolves with the preload's start-up line. Rejects if the app exits first. */
  readonly startup: Promise<StartupLine>;
}

/**
 * Starts `node <flag> otel-contracts/register <app> <args>` in the repository root (where the package
 * self-reference resolves), with scrape port 0 (a free port, reported in the start-up line) and `env`.
 * `flag: 'none'` runs the app without the preload.
 */
export function runApp(app: string, env: ProcessEnv = {}, opts: { flag?: '--import' | '--require' | 'none'; args?: string[] } = {}): AppProcess {
  const flag = opts.flag ?? '--import';
  const preload = flag === 'none' ? [] : [flag, 'otel-contracts/register'];
  const p = startNode(`app ${app}`, [...preload, app, ...(opts.args ?? [])], { OTEL_EXPORTER_PROMETHEUS_PORT: '0', ...env });
  const ready = p.waitForLine(/^\{.*\}$/).then((m) => JSON.parse(m.input as string) as Record<string, unknown>);
  const startup = p.waitForLine(/otel-contracts preload started/, { stream: 'stderr' }).then((m) => JSON.parse(m.input as string) as StartupLine);
  // Both may legitimately never settle for some tests; avoid unhandled rejections.
  ready.catch(() => undefined);
  startup.catch(() => undefined);
  return { ...p, ready, startup };
}
