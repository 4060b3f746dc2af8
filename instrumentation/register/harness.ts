/**
 * Test support: runs an app as a child process with the preload flag, on loopback, and reads its
 * `/metrics`. Every child started is tracked so a test's `afterEach(stopAll)` ends it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readExposition, type SampleLine } from '../test/exposition-lines.ts';

/** Repository root (the package self-reference `otel-contracts/register` resolves from here). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Directory of the fixture apps. */
export const FIXTURES = join(REPO_ROOT, 'instrumentation/register/fixtures');

/** The preload's start-up line (pino JSON). */
export interface StartupLine {
  readonly msg: string;
  readonly scrapeUrl?: string;
  readonly pushUrl?: string;
  readonly cpuBlockSource: string;
  readonly collectors: readonly string[];
}

/** A running app. */
export interface AppProcess {
  readonly child: ChildProcess;
  /** Resolves with the first stdout line that parses as JSON (the fixture's "ready" line). */
  readonly ready: Promise<Record<string, unknown>>;
  /** Resolves with the preload's start-up line. Rejects if the child exits first. */
  readonly startup: Promise<StartupLine>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

const running = new Set<ChildProcess>();

/**
 * Spawns `node <flag> otel-contracts/register <app>` with the repo as cwd, scrape port 0 (a free port,
 * reported in the start-up line) and the given extra environment.
 */
export function runApp(app: string, env: Record<string, string | undefined> = {}, opts: { flag?: '--import' | '--require' | 'none'; args?: string[] } = {}): AppProcess {
  const flag = opts.flag ?? '--import';
  const preload = flag === 'none' ? [] : [flag, 'otel-contracts/register'];
  const child = spawn(process.execPath, [...preload, app, ...(opts.args ?? [])], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, OTEL_EXPORTER_PROMETHEUS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      res({ code, signal });
    }),
  );
  const ready = new Promise<Record<string, unknown>>((res, rej) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      for (const line of out.split('\n')) {
        try {
          const v = JSON.parse(line) as unknown;
          if (v && typeof v === 'object') return res(v as Record<string, unknown>);
        } catch {
          // not yet
        }
      }
    });
    void exited.then(() => rej(new Error(`app exited before its ready line; stderr:\n${err}`)));
  });
  const startup = new Promise<StartupLine>((res, rej) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      for (const line of err.split('\n')) {
        if (!line.includes('otel-contracts preload started')) continue;
        try {
          return res(JSON.parse(line) as StartupLine);
        } catch {
          // partial line
        }
      }
    });
    void exited.then(() => rej(new Error(`app exited before the start-up line; stderr:\n${err}`)));
  });
  // Both may legitimately never settle for some tests; avoid unhandled rejections.
  ready.catch(() => undefined);
  startup.catch(() => undefined);
  return { child, ready, startup, exited, stdout: () => out, stderr: () => err };
}

/** Kills every child still running (SIGKILL) and waits for them. */
export async function stopAll(): Promise<void> {
  const waits = [...running].map((c) => new Promise<void>((res) => (c.exitCode !== null || c.signalCode !== null ? res() : (c.once('exit', () => res()), c.kill('SIGKILL')))));
  await Promise.all(waits);
}

/** One sample of an exposition. */
export type Sample = SampleLine;

/** The sample lines of a Prometheus text exposition 0.0.4, label values unescaped. */
export function parseExposition(text: string): Sample[] {
  return readExposition(text).samples;
}

/** GET the scrape URL and parse it. */
export async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`scrape ${url}: ${res.status} ${text}`);
  return { text, samples: parseExposition(text) };
}

/** Samples of `name` whose labels include `labels`. */
export function find(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** Sum of the values of {@link find}; undefined when no sample matches. */
export function total(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = find(samples, name, labels);
  return found.length ? found.reduce((a, s) => a + s.value, 0) : undefined;
}

/**
 * Scrapes until `accept` holds, at most `attempts` times with `everyMs` between (the scrape endpoint
 * allows 10 scrapes/s with a burst of 20). No timing is asserted: the deadline only bounds the test.
 */
export async function scrapeUntil(url: string, accept: (s: Sample[]) => boolean, attempts = 40, everyMs = 150): Promise<Sample[]> {
  let last: Sample[] = [];
  for (let i = 0; i < attempts; i++) {
    last = (await scrape(url)).samples;
    if (accept(last)) return last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return last;
}
