/**
 * A fleet of simulated short-lived sidecars in one process: each pushes its series over OTLP/HTTP
 * (protobuf) `pushes` times, one push after the other as the SDK's periodic reader does, the last one being
 * the final push on exit. Retries as the OTLP exporter does (429/502/503/504 and connection errors, 1 s
 * backoff ×1.5 up to 5 s, 5 attempts within 10 s). Pushes are paced by a schedule (start offsets spread
 * over `spreadMs`, then one every `intervalMs`) and bounded by `concurrency` requests in flight, over
 * keep-alive connections, so HAProxy spreads them over the gateways by connection.
 */
import { Agent, request } from 'node:http';
import { delay } from '../../test/poll.ts';
import { rejectedDataPoints, sidecarRequest, sidecarResource, type SidecarIdentity } from './fleet-otlp.ts';
import { seriesTemplates, type SeriesTemplate } from './fleet-series.ts';

/** What the fleet does. */
export interface FleetOptions {
  /** `service.name` of every sidecar (Prometheus `job`); instance ids are `<job>-<i>`. */
  readonly job: string;
  readonly sidecars: number;
  /** Pushes per sidecar, the last being the final push. Default 3. */
  readonly pushes?: number;
  /** OTLP/HTTP base URL (`http://127.0.0.1:4318`). */
  readonly endpoint: string;
  /** Requests in flight at most (and keep-alive connections). Default 32. */
  readonly concurrency?: number;
  /** Sidecar i starts at spreadMs · i / sidecars. Default 0 (all at once, bounded by the concurrency). */
  readonly spreadMs?: number;
  /** Between one sidecar's pushes. Default 0 (the next as soon as the previous one is answered). */
  readonly intervalMs?: number;
  /** Called when a push is answered (or given up), e.g. to time push-to-queryable. */
  readonly onPush?: (p: PushOutcome) => void;
}

/** How one push ended. */
export interface PushOutcome {
  readonly sidecar: number;
  /** From 1; `push === pushes` is the final push. */
  readonly push: number;
  readonly ok: boolean;
  readonly attempts: number;
  /** When it was answered (performance.now() ms). */
  readonly answeredAt: number;
  /** The data points' timestamp (ms since the epoch). */
  readonly timeMs: number;
  readonly rejectedPoints: number;
  readonly error?: string;
}

/** What the fleet sent. */
export interface FleetReport {
  readonly job: string;
  readonly sidecars: number;
  readonly pushes: number;
  readonly templates: readonly SeriesTemplate[];
  /** Every push's outcome, by sidecar then push. */
  readonly outcomes: readonly PushOutcome[][];
  /** Pushes given up after the retries (lost at the sidecar, as a real one would lose them). */
  readonly failed: number;
  /** Pushes answered only after a retry. */
  readonly retried: number;
  readonly wallMs: number;
  /** CPU the generating process spent (user + system), seconds. */
  readonly cpuSeconds: number;
}

/** The instance id of sidecar `i` of `job`. */
export function instanceIdOf(job: string, i: number): string {
  return `${job}-${i}`;
}

const RETRYABLE = new Set([429, 502, 503, 504]);

function post(agent: Agent, url: URL, body: Uint8Array, timeoutMs: number): Promise<{ status: number; body: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, timeout: timeoutMs, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** One push with the exporter's retries; resolves to its outcome (never throws). */
async function pushWithRetry(agent: Agent, url: URL, body: Uint8Array): Promise<{ ok: boolean; attempts: number; rejected: number; error?: string }> {
  const deadline = performance.now() + 10_000;
  let backoff = 1000;
  let error = '';
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      const res = await post(agent, url, body, Math.max(1, deadline - performance.now()));
      if (res.status >= 200 && res.status < 300) return { ok: true, attempts: attempt, rejected: rejectedDataPoints(res.body) };
      error = `HTTP ${res.status}`;
      if (!RETRYABLE.has(res.status)) return { ok: false, attempts: attempt, rejected: 0, error };
    } catch (e) {
      error = (e as Error).message;
    }
    if (performance.now() + backoff > deadline) break;
    await delay(backoff);
    backoff = Math.min(backoff * 1.5, 5000);
  }
  return { ok: false, attempts: 5, rejected: 0, error };
}

/** A counting semaphore: at most `n` holders. */
function semaphore(n: number): () => Promise<() => void> {
  let free = n;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  return async () => {
    if (free > 0) free--;
    else await new Promise<void>((r) => waiting.push(r));
    return release;
  };
}

/** Runs the fleet to its end; every push is answered or given up when it resolves. */
export async function runFleet(opts: FleetOptions): Promise<FleetReport> {
  const pushes = opts.pushes ?? 3;
  const templates = seriesTemplates();
  const url = new URL('/v1/metrics', opts.endpoint);
  // FIFO: every keep-alive connection takes its turn, so HAProxy's per-connection round-robin spreads the
  // pushes over the gateways (LIFO, Node's default, would put a light load on one or two connections).
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 32, scheduling: 'fifo' });
  const acquire = semaphore(opts.concurrency ?? 32);
  const outcomes: PushOutcome[][] = Array.from({ length: opts.sidecars }, () => []);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const startMs = Date.now();
  const sidecar = async (i: number) => {
    const id: SidecarIdentity = { index: i, job: opts.job, instanceId: instanceIdOf(opts.job, i), startMs };
    const resource = sidecarResource(id);
    let lastMs = startMs;
    const offset = ((opts.spreadMs ?? 0) * i) / opts.sidecars;
    for (let k = 1; k <= pushes; k++) {
      const due = t0 + offset + (k - 1) * (opts.intervalMs ?? 0);
      if (due > performance.now()) await delay(due - performance.now());
      const release = await acquire();
      try {
        const timeMs = Math.max(lastMs + 1, Date.now());
        lastMs = timeMs;
        const r = await pushWithRetry(agent, url, sidecarRequest(templates, resource, id, k, timeMs));
        const outcome: PushOutcome = { sidecar: i, push: k, ok: r.ok, attempts: r.attempts, answeredAt: performance.now(), timeMs, rejectedPoints: r.rejected, ...(r.error ? { error: r.error } : {}) };
        outcomes[i]!.push(outcome);
        opts.onPush?.(outcome);
      } finally {
        release();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.sidecars }, (_, i) => sidecar(i)));
  } finally {
    agent.destroy();
  }
  const cpu = process.cpuUsage(cpu0);
  const flat = outcomes.flat();
  return {
    job: opts.job,
    sidecars: opts.sidecars,
    pushes,
    templates,
    outcomes,
    failed: flat.filter((o) => !o.ok).length,
    retried: flat.filter((o) => o.ok && o.attempts > 1).length,
    wallMs: performance.now() - t0,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}
