import cluster from 'node:cluster';
import { PRIMARY_ENV } from './protocol.ts';

export { startClusterPrimary, type ClusterPrimary } from './primary.ts';
export { answerPrimary } from './worker.ts';
export { PRIMARY_ENV } from './protocol.ts';

/**
 * This process's part in a Node `cluster` (or pm2 cluster mode):
 * - `primary`: not a cluster worker. It serves `/metrics` as always, and once it forks workers, merges their
 *   data points into its own before the one serializer renders them.
 * - `worker`: a cluster worker whose primary runs the preload (it set {@link PRIMARY_ENV} to its pid): it does
 *   not listen; it answers the primary's collect requests with its collected data points.
 * - `standalone-worker`: a cluster worker whose primary does not run the preload (pm2's daemon): it serves its
 *   own `/metrics`, on the scrape port plus its pm2 instance number (`NODE_APP_INSTANCE`) when there is one.
 */
export type ClusterRole = 'primary' | 'worker' | 'standalone-worker';

/** {@link ClusterRole} of this process, from `node:cluster` and the environment. */
export function clusterRoleOf(env: NodeJS.ProcessEnv = process.env): ClusterRole {
  if (!cluster.isWorker) return 'primary';
  return env[PRIMARY_ENV] === String(process.ppid) ? 'worker' : 'standalone-worker';
}

/**
 * The environment a standalone worker's pipeline reads: the scrape port moved up by `NODE_APP_INSTANCE`
 * (pm2's instance number, 0-based), so that instances do not fight over one port. Unchanged otherwise, and
 * when the port is 0 (any free port).
 */
export function standaloneWorkerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const n = Number(env.NODE_APP_INSTANCE);
  const base = Number(env.OTEL_EXPORTER_PROMETHEUS_PORT?.trim() || 9464);
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(base) || base <= 0 || base + n > 65535) return env;
  return { ...env, OTEL_EXPORTER_PROMETHEUS_PORT: String(base + n) };
}

/** The cluster module, for the primary's listeners. */
export { cluster };
