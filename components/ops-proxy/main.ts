import type { Logger } from 'pino';
import { createLogger } from '../../instrumentation/logger.ts';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import { readOpsProxyConfig, type HostPort } from './config.ts';
import { startConnector, type Connector } from './connector.ts';
import { startListener, type Listener } from './listener.ts';
import { createOpsProxyMetrics } from './metrics.ts';
import { formatHostPort } from '../kit/host-port.ts';
import { runComponent, startComponent, type ComponentStop } from '../kit/lifecycle.ts';
import { startMetricsServer } from '../kit/metrics-server.ts';

/**
 * Entry of the ops proxy (`otel-contracts ops-proxy …` or `node components/ops-proxy/main.ts …`): wires
 * the configuration, the listening peer (listener.ts), the connecting peer (connector.ts) and the
 * /metrics endpoint to the metrics wiring in metrics.ts, which records the 22 families of seed 001.
 */

/** A running ops-proxy process. */
export interface OpsProxy extends ComponentStop {
  /** The listening role, when `--control` was given. */
  readonly listener: Listener | undefined;
  /** The connecting role, when `--connect` was given. */
  readonly connector: Connector | undefined;
  /** Where /metrics and /healthz listen. */
  readonly metricsAddress: HostPort;
  readonly pipeline: Pipeline;
}

/** Options of {@link runOpsProxy}. */
export interface RunOptions {
  /** Logger (default: pino on stderr, level from OTEL_CONTRACTS_LOG_LEVEL). */
  readonly logger?: Logger;
  /** Install SIGTERM/SIGINT/exit handlers with the final push (the CLI does; in-process tests do not). */
  readonly exitHandlers?: boolean;
}


/**
 * Starts the ops proxy.
 * @param argv flags without node and script (see config.ts).
 * @param env `OPS_PROXY_TOKEN` (required), `NODE_NAME`, `POD_NAME`, `OTEL_*`.
 * @throws OpsProxyConfigError / ConfigError for bad flags or variables; CommanderError for unknown flags
 *   or --help; NonLoopbackBindError for a `--metrics` address beyond loopback without
 *   `OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true` or `--allow-non-loopback`; the listen error of any port.
 *   Nothing stays open after a throw.
 */
export async function runOpsProxy(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, opts: RunOptions = {}): Promise<OpsProxy> {
  const cfg = readOpsProxyConfig(argv, env);
  const logger = opts.logger ?? createLogger('ops-proxy', env);
  // --allow-non-loopback is the flag spelling of the opt-in the metrics server reads from the pipeline's config.
  const metrics = createOpsProxyMetrics(cfg.allowNonLoopback ? { ...env, OTEL_CONTRACTS_ALLOW_NON_LOOPBACK: 'true' } : env, logger);
  const { pipeline } = metrics;
  return startComponent(pipeline, logger, opts.exitHandlers, async (cleanups) => {
    const listener = cfg.listen ? await startListener(cfg.listen, cfg.token, metrics, logger) : undefined;
    if (listener) cleanups.add(() => listener.close());
    const server = await startMetricsServer(cfg.metrics, pipeline, logger, 'the ops proxy');
    cleanups.add(() => server.close());
    let connector: Connector | undefined;
    if (cfg.connect) {
      metrics.clientRole();
      const c = startConnector(cfg.connect, cfg.token, logger);
      connector = c;
      cleanups.add(() => c.close());
    }
    const { pushUrl } = await pipeline.start({ listen: false });
    const where: string[] = [];
    if (listener) {
      where.push(`control ${formatHostPort(listener.control)}`);
      if (listener.http) where.push(`http ${formatHostPort(listener.http)}`);
      if (listener.https) where.push(`https ${formatHostPort(listener.https)}`);
      for (const t of listener.tcp) where.push(`tcp ${formatHostPort(t.address)} → ${t.name}`);
    }
    if (cfg.connect) where.push(`connecting to ${cfg.connect.targets.map(formatHostPort).join(', ')} for ${cfg.connect.registrations.map((r) => r.name).join(', ')}`);
    logger.info(
      {
        control: listener ? formatHostPort(listener.control) : undefined,
        http: listener?.http ? formatHostPort(listener.http) : undefined,
        https: listener?.https ? formatHostPort(listener.https) : undefined,
        tcp: listener?.tcp.map((t) => `${t.name}=${formatHostPort(t.address)}`),
        connect: cfg.connect?.targets.map(formatHostPort),
        register: cfg.connect?.registrations.map((r) => `${r.name}=${formatHostPort(r.backend)}`),
        metrics: server.url,
        push: pushUrl ?? 'off',
        limits: cfg.listen && {
          maxUnauthenticated: cfg.listen.maxUnauthenticated,
          handshakeTimeoutMs: cfg.listen.handshakeTimeoutMs,
          maxConnections: cfg.listen.maxConnections,
          halfCloseTimeoutMs: cfg.listen.halfCloseTimeoutMs,
          allowTakeover: cfg.listen.allowTakeover,
        },
      },
      `ops proxy listening: ${where.join('; ')}; metrics ${server.url}`,
    );
    return { listener, connector, metricsAddress: server.address, pipeline };
  });
}

if (import.meta.main) void runComponent('ops proxy', () => runOpsProxy(process.argv.slice(2), process.env, { exitHandlers: true }));
