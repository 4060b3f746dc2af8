import { setTimeout as sleep } from 'node:timers/promises';
import type { CacheDir } from './config.ts';
import type { CacheKind } from './contract.ts';
import type { ProblemLog } from './report-once.ts';
import { createWalkerThread } from './walker-thread.ts';

/**
 * The background measurement behind `trc_agent_cache_bytes{kind}` and `trc_agent_cache_evictions_total{kind}`
 * (seed 002 section E, "Image cache"): rounds of walks, each cache after the other, then a pause. The
 * walks run on a worker thread (walk-worker.ts): a scrape never walks anything and never waits for a walk;
 * it sees the result of the last finished one.
 *
 * Evictions are counted as evictions.ts says; a file created and removed between two walks is never seen.
 * A cache directory that disappears (or cannot be read) is reported once, and its series keep their last
 * value until it returns; then the files gone since the last walk that saw it count as evicted.
 */

/** Options of {@link startCacheWatcher}. */
export interface CacheWatcherOptions {
  readonly caches: readonly CacheDir[];
  /** Pause between the end of a round and the start of the next (ms). */
  readonly intervalMs: number;
  readonly problems: ProblemLog;
  /** Told each finished walk: the cache's disk usage in bytes and the evictions it confirmed (see evictions.ts). */
  readonly onMeasured: (kind: CacheKind, bytes: number, evicted: number) => void;
}

/** Running cache measurements. */
export interface CacheWatcher {
  /** Resolves when every cache has been walked once (or found unreadable). Never rejects. */
  readonly firstRound: Promise<void>;
  /** Rounds finished so far. */
  rounds(): number;
  /** Stops: the walker thread is terminated mid-walk if need be; resolves when stopped. */
  stop(): Promise<void>;
}

/** Starts the rounds of walks over `opts.caches` (none: nothing runs). */
export function startCacheWatcher(opts: CacheWatcherOptions): CacheWatcher {
  const abort = new AbortController();
  const walker = createWalkerThread();
  let rounds = 0;
  let firstDone: () => void = () => undefined;
  const firstRound = new Promise<void>((resolve) => (firstDone = resolve));

  async function measure(c: CacheDir): Promise<void> {
    const subject = `cache ${c.kind} ${c.dir}`;
    const a = await walker.walk(c.kind, c.dir);
    if (abort.signal.aborted) return;
    if (!a.ok) {
      opts.problems.fail(subject, `${subject} cannot be read (${a.code}); trc_agent_cache_bytes and trc_agent_cache_evictions_total{kind="${c.kind}"} keep their last value until it returns`);
      return;
    }
    opts.problems.ok(subject);
    if (a.truncated) opts.problems.fail(`${subject} size`, `${subject} has more entries than a walk visits; its figures cover part of it`);
    opts.onMeasured(c.kind, a.bytes, a.evicted);
  }

  const loop = (async () => {
    while (!abort.signal.aborted && opts.caches.length > 0) {
      for (const c of opts.caches) if (!abort.signal.aborted) await measure(c);
      rounds++;
      firstDone();
      await sleep(opts.intervalMs, undefined, { signal: abort.signal, ref: false }).catch(() => undefined);
    }
    firstDone();
  })();

  return {
    firstRound,
    rounds: () => rounds,
    async stop() {
      abort.abort();
      await walker.stop();
      await loop;
    },
  };
}
