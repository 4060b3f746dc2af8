import type { Logger } from 'pino';
import { formatHostPort, type HostPort } from '../kit/host-port.ts';
import { HealthChecker } from './health.ts';
import type { EdgeMetrics } from './metrics.ts';
import { DEFAULT_HEALTH, PROTOCOL_HINTS, type ProtocolHint, type RouteTable } from './route-table.ts';
import { loadRoutesFile, RoutesFileError, type RoutesContext } from './routes-file.ts';

/**
 * The edge's active routes and backend health (seed 002, section F, "Routing config" and "Backend health
 * gating"). Each load of the routes file (the first, each SIGHUP, each change the watcher reports) counts
 * once in `trc_edge_config_apply_total{result}` and `trc_edge_config_apply_seconds{result}`; loads run
 * one after another, in the order asked. A rejected file changes nothing: the old routes stay, and the
 * failure is logged with the offending field. A new table never touches open connections (they hold
 * their backend socket, not the table).
 *
 * `trc_edge_backends_active_total` counts healthy (route, backend) pairs (a backend listed by two routes
 * counts twice); `…_by_protocol{protocol_hint}` splits it by the route's hint. Both are set after each
 * load and each health change.
 */
export class Routing {
  private active: RouteTable | undefined;
  private readonly health: HealthChecker;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly path: string;
  private readonly ctx: RoutesContext;
  private readonly metrics: EdgeMetrics;
  private readonly logger: Logger;

  /** @param path the routes file; @param ctx what the listeners need from it. */
  constructor(path: string, ctx: RoutesContext, metrics: EdgeMetrics, logger: Logger) {
    this.path = path;
    this.ctx = ctx;
    this.metrics = metrics;
    this.logger = logger;
    this.health = new HealthChecker(DEFAULT_HEALTH, (address, healthy) => this.healthChanged(address, healthy));
  }

  /**
   * The active table.
   * @throws Error before the first successful {@link load}.
   */
  table(): RouteTable {
    if (!this.active) throw new Error('no routes loaded yet');
    return this.active;
  }

  /** Whether `backend` takes new connections. */
  isHealthy(backend: HostPort): boolean {
    return this.health.isHealthy(backend);
  }

  /**
   * Loads the routes file once (after any load already asked for), counts it and, when it is valid,
   * makes it the active table.
   * @param why for the log line (`start`, `SIGHUP`, `file changed`).
   * @returns true when the file was applied.
   * @throws RoutesFileError when the file is rejected and `throwOnReject` (the first load: the edge does not start).
   */
  load(why: string, throwOnReject = false): Promise<boolean> {
    const run = this.queue.then(() => this.loadNow(why, throwOnReject));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the health checks. */
  stop(): void {
    this.health.stop();
  }

  private async loadNow(why: string, throwOnReject: boolean): Promise<boolean> {
    const t0 = performance.now();
    let table: RouteTable;
    try {
      table = await loadRoutesFile(this.path, this.ctx);
    } catch (e) {
      this.metrics.configApplied('error', (performance.now() - t0) / 1000);
      const field = e instanceof RoutesFileError ? e.field : undefined;
      this.logger.error({ routes: this.path, why, field, err: (e as Error).message }, this.active ? 'routes file rejected: the previous routes stay' : 'routes file rejected');
      if (throwOnReject) throw e;
      return false;
    }
    this.active = table;
    const backends = [...new Map(table.routes.flatMap((r) => r.backends).map((b) => [formatHostPort(b), b])).values()];
    this.health.update(backends, table.health);
    this.metrics.configApplied('success', (performance.now() - t0) / 1000);
    this.metrics.routes(table.routes.length, table.proxyV2Routes());
    this.countBackends();
    this.logger.info({ routes: this.path, why, count: table.routes.length, backends: backends.length, proxy_v2: table.proxyV2Routes() }, `routes applied (${why}): ${table.routes.length} routes`);
    return true;
  }

  private healthChanged(address: HostPort, healthy: boolean): void {
    this.logger.warn({ backend: formatHostPort(address), healthy }, healthy ? 'backend healthy again: it takes new connections' : 'backend unhealthy: it takes no new connections');
    this.countBackends();
  }

  private countBackends(): void {
    const byProtocol = Object.fromEntries(PROTOCOL_HINTS.map((h) => [h, 0])) as Record<ProtocolHint, number>;
    for (const r of this.active?.routes ?? []) for (const b of r.backends) if (this.health.isHealthy(b)) byProtocol[r.protocolHint]++;
    this.metrics.backends(byProtocol);
  }
}
