/**
 * When each sidecar's final push becomes queryable: polls the query endpoints (shards, or Prometheus) for
 * the sidecars whose uptime gauge shows its final value (10 · pushes in the fleet's value model) and notes,
 * per sidecar, the start of the first poll that saw it. Push-to-queryable latency is that time minus the
 * moment its final push was answered; the poll interval is the resolution.
 */
import { delay } from '../../test/poll.ts';
import { instanceIdOf, type FleetReport } from './fleet-push.ts';
import { vmInstantQuery } from './victoria-metrics.ts';

/** A running watch. */
export interface FinalsWatch {
  /** performance.now() of the first poll that saw each sidecar's final push, by sidecar index. */
  readonly visibleAt: ReadonlyMap<number, number>;
  /** Resolves when every sidecar's final push has been seen (or `stop()` was called). */
  readonly done: Promise<void>;
  /** Stops polling. */
  stop(): void;
}

/**
 * Starts polling `urls` (each serving the Prometheus query API) every `intervalMs` for the final pushes of
 * `sidecars` sidecars of `job` that push `pushes` times.
 */
export function watchFinals(urls: readonly string[], job: string, sidecars: number, pushes: number, intervalMs = 500): FinalsWatch {
  const visibleAt = new Map<number, number>();
  const expr = `last_over_time(opensandbox_egress_uptime_seconds{job=${JSON.stringify(job)}}[15m]) == ${10 * pushes}`;
  const prefix = `${job}-`;
  let stopped = false;
  const poll = async () => {
    while (!stopped && visibleAt.size < sidecars) {
      const at = performance.now();
      for (const url of urls) {
        try {
          for (const s of await vmInstantQuery(url, expr)) {
            const i = Number((s.metric.instance ?? '').slice(prefix.length));
            if (Number.isInteger(i) && !visibleAt.has(i)) visibleAt.set(i, at);
          }
        } catch {
          // a shard that is down answers nothing: its sidecars are not queryable yet
        }
      }
      const wait = at + intervalMs - performance.now();
      if (wait > 0) await delay(wait);
    }
  };
  const done = poll();
  return {
    visibleAt,
    done,
    stop() {
      stopped = true;
    },
  };
}

/** Push-to-queryable latencies (seconds) of the sidecars whose final push was answered and seen. */
export function finalLatencies(fleet: FleetReport, visibleAt: ReadonlyMap<number, number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < fleet.sidecars; i++) {
    const final = fleet.outcomes[i]?.find((o) => o.push === fleet.pushes && o.ok);
    const seen = visibleAt.get(i);
    if (final && seen !== undefined) out.push(Math.max(0, seen - final.answeredAt) / 1000);
  }
  return out;
}

/** The `q` quantile (0..1) of `xs` (nearest rank); NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** The instance ids of the sidecars not seen yet (for failure messages), at most `max`. */
export function unseen(job: string, sidecars: number, visibleAt: ReadonlyMap<number, number>, max = 5): string[] {
  const out: string[] = [];
  for (let i = 0; i < sidecars && out.length < max; i++) if (!visibleAt.has(i)) out.push(instanceIdOf(job, i));
  return out;
}
