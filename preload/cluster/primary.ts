import type { Cluster, Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { parseExposition, writeExposition, type ParsedFamily } from './exposition.ts';
import { createRetired, mergeMembers, retire, type Member } from './merge.ts';
import { asResponse, isOurs, type CollectRequest } from './protocol.ts';

/** Options of {@link startClusterPrimary}. */
export interface PrimaryOptions {
  readonly cluster: Cluster;
  readonly logger: Logger;
  /** Told of every ignored otel-contracts message (`malformed`) or worker exposition (`unparseable`). */
  readonly onDropped: (reason: 'malformed' | 'unparseable') => void;
  /** How long a collection waits for the workers' answers, in ms (default 2000); a late worker's last exposition is used. */
  readonly timeoutMs?: number;
}

/** The aggregating side of a preloaded cluster primary. */
export interface ClusterPrimary {
  /**
   * The exposition to serve: `own()` unchanged while the process has never had a worker ("without cluster,
   * nothing changes"); otherwise the primary's own exposition merged with every connected worker's
   * (see `mergeMembers`). Never rejects because of a worker.
   */
  render(own: () => Promise<string>): Promise<string>;
  stop(): void;
}

/**
 * Starts listening to the workers of `cluster` (prom-client's `AggregatorRegistry` pattern: the primary asks
 * each worker over IPC at scrape time). Keeps each worker's last parsed exposition; when a worker exits its
 * counters and histograms are retired into the sums (nothing already scraped is lost) and its gauges stop.
 * A message of ours with a wrong shape, or an exposition that does not parse, is ignored and counted.
 */
export function startClusterPrimary(opts: PrimaryOptions): ClusterPrimary {
  const { cluster, logger } = opts;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const last = new Map<number, readonly ParsedFamily[]>();
  const retired = createRetired();
  const waiting = new Map<number, { pending: Set<number>; done: () => void }>();
  let seq = 0;
  let sawWorkers = false;

  const onMessage = (worker: Worker, message: unknown) => {
    if (!isOurs(message)) return;
    const res = asResponse(message);
    if (!res) {
      opts.onDropped('malformed');
      return;
    }
    try {
      last.set(worker.id, parseExposition(res.text));
    } catch {
      // TargetError, or anything else a hostile text provokes: never into the primary
      opts.onDropped('unparseable');
    }
    const w = waiting.get(res.id);
    if (w && w.pending.delete(worker.id) && w.pending.size === 0) w.done();
  };
  const onFork = () => {
    sawWorkers = true;
  };
  const onExit = (worker: Worker) => {
    const families = last.get(worker.id);
    if (families) retire(retired, { workerId: String(worker.id), families });
    last.delete(worker.id);
    for (const w of waiting.values()) if (w.pending.delete(worker.id) && w.pending.size === 0) w.done();
  };
  cluster.on('message', onMessage);
  cluster.on('fork', onFork);
  cluster.on('exit', onExit);

  const askWorkers = (workers: Worker[]): Promise<void> => {
    const id = ++seq;
    const req: CollectRequest = { otelContracts: 'collect', id };
    const pending = new Set<number>();
    for (const w of workers) {
      try {
        w.send(req, undefined, () => {});
        pending.add(w.id);
      } catch {
        // the channel just closed: its last exposition stands in
      }
    }
    if (pending.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(finish, timeoutMs);
      timer.unref();
      function finish() {
        clearTimeout(timer);
        waiting.delete(id);
        resolve();
      }
      waiting.set(id, { pending, done: finish });
    });
  };

  return {
    async render(own) {
      if (!sawWorkers) return own();
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w?.isConnected()));
      const [ownText] = await Promise.all([own(), askWorkers(workers)]);
      const members: Member[] = [{ workerId: '0', families: parseExposition(ownText) }];
      for (const w of workers) {
        const families = last.get(w.id);
        if (families) members.push({ workerId: String(w.id), families });
      }
      return writeExposition(mergeMembers(members, retired));
    },
    stop() {
      cluster.off('message', onMessage);
      cluster.off('fork', onFork);
      cluster.off('exit', onExit);
      for (const w of waiting.values()) w.done();
      logger.debug({}, 'cluster aggregation stopped');
    },
  };
}
