import type { Logger } from 'pino';
import { createLogger } from '../../instrumentation/logger.ts';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import { Admission } from '../kit/admission.ts';
import { formatHostPort, type HostPort } from '../kit/host-port.ts';
import { runComponent, startComponent, type ComponentStop } from '../kit/lifecycle.ts';
import { startMetricsServer } from '../kit/metrics-server.ts';
import { Balancer } from './balancer.ts';
import { readEdgeConfig, type ListenerKind } from './config.ts';
import { startListener, type ListenerContext } from './listener.ts';
import { createEdgeMetrics } from './metrics.ts';
import { Routing } from './routing.ts';
import { watchRoutesFile } from './routes-watcher.ts';

/**
 * Entry of the trc edge ingress (`otel-contracts trc-edge …` or `node components/trc-edge/main.ts …`;
 * seed 002 section F): loads the routes file, starts the health checks, the listeners, the
 * /metrics endpoint and the routes watcher, and reloads the routes on SIGHUP. The 12 `trc_edge_*`
 * families are all in the first scrape.
 */

/** A running edge. */
export interface TrcEdge extends ComponentStop {
  readonly listeners: readonly { kind: ListenerKind; address: HostPort }[];
  readonly metricsAddress: HostPort;
  readonly metricsUrl: string;
  readonly pipeline: Pipeline;
  /** Loads the routes file again, as SIGHUP does; resolves true when it was applied. */
  reload(why?: string): Promise<boolean>;
}

/** Options of {@link runTrcEdge}. */
export interface RunOptions {
  /** Logger (default: pino on stderr, level from OTEL_CONTRACTS_LOG_LEVEL). */
  readonly logger?: Logger;
  /** Install SIGTERM/SIGINT/exit handlers with the final push, and SIGHUP to reload (the CLI does; in-process tests do not). */
  readonly exitHandlers?: boolean;
}

/**
 * Starts the edge.
 * @param argv flags without node and script (see config.ts).
 * @param env `TRC_NODE_ID` (the `node_id` label), `OTEL_*`.
 * @throws ConfigError / HostPortError / CommanderError for flags; RoutesFileError when the routes file is
 *   unreadable or invalid; the listen error of any port. Nothing stays open after a throw.
 */
export async function runTrcEdge(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, opts: RunOptions = {}): Promise<TrcEdge> {
  const cfg = readEdgeConfig(argv);
  const logger = opts.logger ?? createLogger('trc-edge', env);
  const metrics = createEdgeMetrics(env, logger);
  const { pipeline } = metrics;
  return startComponent(pipeline, logger, opts.exitHandlers, async (cleanups) => {
    const routing = new Routing(cfg.routes, { needsDefault: cfg.listen.some((l) => l.kind === 'tcp') }, metrics, logger);
    cleanups.add(() => routing.stop());
    await routing.load('start', true);
    const admission = new Admission({ maxUnauthenticated: cfg.maxUnauthenticated, sniffTimeoutMs: cfg.sniffTimeoutMs, maxEstablished: cfg.maxConnections });
    cleanups.add(() => admission.destroyAll());
    const ctx: ListenerContext = {
      metrics,
      logger,
      balancer: new Balancer(),
      admission,
      routes: () => routing.table(),
      isHealthy: (b) => routing.isHealthy(b),
      connectTimeoutMs: cfg.connectTimeoutMs,
      idleTimeoutMs: cfg.idleTimeoutMs,
    };
    const listeners = [];
    for (const spec of cfg.listen) {
      const l = await startListener(spec, ctx);
      cleanups.add(() => l.close());
      listeners.push(l);
    }
    metrics.listening([...new Set(listeners.map((l) => String(l.address.port)))]);
    const server = await startMetricsServer(cfg.metrics, pipeline, logger, 'the trc edge');
    cleanups.add(() => server.close());
    const reload = (why = 'reload') => routing.load(why);
    const watcher = watchRoutesFile(cfg.routes, () => void reload('file changed'), logger);
    cleanups.add(() => watcher.close());
    if (opts.exitHandlers) {
      const onHup = () => void reload('SIGHUP');
      process.on('SIGHUP', onHup);
      cleanups.add(() => void process.off('SIGHUP', onHup));
    }
    const { pushUrl } = await pipeline.start({ listen: false });
    const where = listeners.map((l) => `${l.kind} ${formatHostPort(l.address)}`);
    logger.info(
      { listen: listeners.map((l) => `${l.kind}=${formatHostPort(l.address)}`), routes: cfg.routes, metrics: server.url, push: pushUrl ?? 'off' },
      `trc edge listening: ${where.join(', ')}; metrics ${server.url}`,
    );
    return { listeners: listeners.map((l) => ({ kind: l.kind, address: l.address })), metricsAddress: server.address, metricsUrl: server.url, pipeline, reload };
  });
}

if (import.meta.main) void runComponent('trc edge', () => runTrcEdge(process.argv.slice(2), process.env, { exitHandlers: true }));
