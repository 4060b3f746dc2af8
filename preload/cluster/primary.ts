import type { Cluster, Worker } from 'node:cluster';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import { collectedOf, resourceMetricsOf, type CollectedFamily } from './collected.ts';
import { Aggregate, isSummed, mergeMembers, retire, type Member } from './merge.ts';
import { isOurs, MAX_COLLECTED_BYTES, readResponse, type CollectRequest } from './protocol.ts';

/** Options of {@link startClusterPrimary}. */
export interface PrimaryOptions {
  readonly cluster: Cluster;
  readonly logger: Logger;
  /**
   * Told of every otel-contracts message from a worker that is dropped: a wrong shape, invalid data, or
   * more than `maxBytes` (see `readResponse`). The app's own messages are never looked at.
   */
  readonly onDropped: () => void;
  /** How long a collection waits for the workers' answers, in ms (default 2000). */
  readonly timeoutMs?: number;
  /** Size bound of one worker answer, in estimated bytes (default `MAX_COLLECTED_BYTES`, 64 MiB). */
  readonly maxBytes?: number;
}

/** The aggregating side of a preloaded cluster primary. */
export interface ClusterPrimary {
  /**
   * The data to serialize, given the primary's own collected data: `own` itself while the process has
   * never had a worker ("without cluster, nothing changes"); otherwise `own` merged with every connected
   * worker's collected data points and the retired workers' sums (the rules: `mergeMembers`), under the
   * primary's resource. Waits at most `timeoutMs` for the workers: a worker that does not answer in time
   * is logged (once until it answers again) and its gauges are left out, while its last answered counters
   * and histograms stay in the sums, so that no counter of the cluster goes backwards. Never rejects
   * because of a worker.
   */
  merge(own: ResourceMetrics): Promise<ResourceMetrics>;
  /** Stops listening to the workers; a merge under way stops waiting. */
  stop(): void;
}

interface Waiting {
  readonly pending: Set<number>;
  readonly fresh: Set<number>;
  readonly done: () => void;
}

/** The collect requests under way: each waits for its workers until they have answered or `timeoutMs` passed. */
interface Requests {
  /** Sends a collect request to `workers`; resolves with the ids of those that answered validly in time. Never rejects. */
  ask(workers: readonly Worker[]): Promise<Set<number>>;
  /** Worker `workerId` answered request `requestId`: validly (`fresh`) or with a message that was dropped. */
  settle(workerId: number, requestId: number, fresh: boolean): void;
  /** Worker `workerId` exited: no request waits for it any longer. */
  forget(workerId: number): void;
  /** Every request stops waiting. */
  stop(): void;
}

function createRequests(timeoutMs: number): Requests {
  const waiting = new Map<number, Waiting>();
  let seq = 0;
  const release = (w: Waiting, workerId: number) => {
    if (w.pending.delete(workerId) && w.pending.size === 0) w.done();
  };
  return {
    ask(workers) {
      const id = ++seq;
      const req: CollectRequest = { otelContracts: 'collect', id };
      const pending = new Set<number>();
      const fresh = new Set<number>();
      for (const worker of workers) {
        try {
          worker.send(req, undefined, () => {});
          pending.add(worker.id);
        } catch {
          // the channel just closed: the worker is left out
        }
      }
      if (pending.size === 0) return Promise.resolve(fresh);
      return new Promise((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        timer.unref();
        function done() {
          clearTimeout(timer);
          waiting.delete(id);
          resolve(fresh);
        }
        waiting.set(id, { pending, fresh, done });
      });
    },
    settle(workerId, requestId, fresh) {
      const w = waiting.get(requestId);
      if (!w || !w.pending.has(workerId)) return;
      if (fresh) w.fresh.add(workerId);
      release(w, workerId);
    },
    forget(workerId) {
      for (const w of [...waiting.values()]) release(w, workerId);
    },
    stop() {
      for (const w of [...waiting.values()]) w.done();
    },
  };
}

/**
 * Starts listening to the workers of `cluster` (prom-client's `AggregatorRegistry` pattern: at scrape time
 * the primary asks each worker over IPC for its collected data points, then merges and renders once with
 * the one serializer). Keeps each worker's last valid answer; when a worker exits, its counters and
 * histograms are retired into the sums (nothing already served is lost) and its gauges stop.
 */
export function startClusterPrimary(opts: PrimaryOptions): ClusterPrimary {
  const { cluster, logger } = opts;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const maxBytes = opts.maxBytes ?? MAX_COLLECTED_BYTES;
  const last = new Map<number, { id: number; families: readonly CollectedFamily[] }>();
  const retired = new Aggregate();
  const lateLogged = new Set<number>();
  const requests = createRequests(timeoutMs);
  let sawWorkers = false;

  const onMessage = (worker: Worker, message: unknown) => {
    if (!isOurs(message)) return;
    const read = readResponse(message, maxBytes);
    if (!read.ok) {
      opts.onDropped();
      logger.debug({ workerId: worker.id, why: read.why }, 'cluster: a worker message was dropped');
      if (read.id !== undefined) requests.settle(worker.id, read.id, false);
      return;
    }
    // Answers come in order; an older one never replaces a newer one (counters never go backwards).
    if ((last.get(worker.id)?.id ?? -1) < read.id) last.set(worker.id, { id: read.id, families: read.families });
    requests.settle(worker.id, read.id, true);
  };
  const onFork = () => {
    sawWorkers = true;
  };
  const onExit = (worker: Worker) => {
    const known = last.get(worker.id);
    if (known) retire(retired, { workerId: String(worker.id), families: known.families });
    last.delete(worker.id);
    lateLogged.delete(worker.id);
    requests.forget(worker.id);
  };
  cluster.on('message', onMessage);
  cluster.on('fork', onFork);
  cluster.on('exit', onExit);

  const noteLate = (workers: readonly Worker[], fresh: ReadonlySet<number>) => {
    const late: number[] = [];
    for (const w of workers) {
      if (fresh.has(w.id)) lateLogged.delete(w.id);
      else if (w.isConnected() && !lateLogged.has(w.id)) {
        lateLogged.add(w.id);
        late.push(w.id);
      }
    }
    if (late.length) {
      logger.warn(
        { workers: late, timeoutMs },
        'cluster: workers did not answer in time and are left out of the scrape (their last counters and histograms stay in the sums); logged again only after they answer',
      );
    }
  };

  return {
    async merge(own) {
      if (!sawWorkers) return own;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w?.isConnected()));
      const fresh = await requests.ask(workers);
      noteLate(workers, fresh);
      const members: Member[] = [{ workerId: '0', families: collectedOf(own, (v) => v) }];
      for (const w of workers) {
        const known = last.get(w.id);
        if (known) members.push({ workerId: String(w.id), families: fresh.has(w.id) ? known.families : known.families.filter((f) => isSummed(f.type)) });
      }
      return resourceMetricsOf(mergeMembers(members, retired), own.resource);
    },
    stop() {
      cluster.off('message', onMessage);
      cluster.off('fork', onFork);
      cluster.off('exit', onExit);
      requests.stop();
      logger.debug({}, 'cluster aggregation stopped');
    },
  };
}
