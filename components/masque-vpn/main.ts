import type { Logger } from 'pino';
import { createLogger } from '../../instrumentation/logger.ts';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import { startConnectIpClient, type ConnectIpClient } from './client.ts';
import { readClientConfig, readServerConfig, type HostPort } from './config.ts';
import type { PacketDevice } from './device.ts';
import { createMasqueMetrics } from './metrics.ts';
import { AddressPool, numberToIpv4 } from './pool.ts';
import { startConnectIpServer } from './server.ts';
import { openTun } from './tun.ts';
import { formatHostPort } from '../kit/host-port.ts';
import { exitOnSignal, runComponent, startComponent, type ComponentStop } from '../kit/lifecycle.ts';
import { startMetricsServer } from '../kit/metrics-server.ts';

/**
 * Entry of `otel-contracts masque-vpn server|client` (seed 004): composes the configuration,
 * the TUN device, the CONNECT-IP server or client and, on the server, the metrics wiring (metrics.ts)
 * and its /metrics endpoint, on the component kit's lifecycle.
 */

/** Opens the packet device of an endpoint: the TUN by default; tests pass an in-process one. */
export type DeviceFactory = (name: string, mtu: number) => Promise<PacketDevice>;

/** Options of {@link runMasqueServer} and {@link runMasqueClient}. */
export interface RunOptions {
  readonly logger?: Logger;
  /** Install SIGTERM/SIGINT handlers with the final push (the CLI does; in-process tests do not). */
  readonly exitHandlers?: boolean;
  readonly openDevice?: DeviceFactory;
}

/** A running server. */
export interface MasqueServer extends ComponentStop {
  /** The CONNECT-IP (HTTP/2 + TLS) address. */
  readonly address: HostPort;
  /** The /metrics address, and its URL `http://HOST:PORT/metrics`. */
  readonly metricsAddress: HostPort;
  readonly metricsUrl: string;
  /** The TUN's (server's) address in the pool. */
  readonly serverAddress: string;
  readonly pipeline: Pipeline;
  readonly device: PacketDevice;
  /** Open CONNECT-IP tunnels. */
  tunnels(): number;
}

/**
 * Starts a server: /metrics on `--metrics`, the TUN with the pool's first address, CONNECT-IP on
 * `--listen`. Logs `masque-vpn server listening: ...` (JSON on stderr) with both addresses once ready.
 * `--metrics` must be a loopback address unless `OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true`; `--listen` may be
 * any address (it is the VPN's public endpoint).
 * @param argv flags without `server` (see readServerConfig).
 * @throws MasqueConfigError / CommanderError for flags; NonLoopbackBindError for `--metrics` beyond
 *   loopback without the opt-in; TunError; the listen errors. Nothing stays open after a throw.
 */
export async function runMasqueServer(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, opts: RunOptions = {}): Promise<MasqueServer> {
  const cfg = readServerConfig(argv);
  const pool = new AddressPool(cfg.pool);
  const logger = opts.logger ?? createLogger('masque-vpn', env);
  const metrics = createMasqueMetrics(env, logger);
  metrics.pool(pool.total, pool.usedCount);
  const { pipeline } = metrics;
  return startComponent(pipeline, logger, opts.exitHandlers, async (cleanups) => {
    // /metrics first: a refused --metrics address (beyond loopback without the opt-in) fails before a TUN is created.
    const http = await startMetricsServer(cfg.metrics, pipeline, logger, 'masque-vpn');
    cleanups.add(() => http.close());
    let device: PacketDevice;
    try {
      device = await (opts.openDevice ?? openTun)(cfg.tun, cfg.mtu);
    } catch (e) {
      metrics.error('tun');
      throw e;
    }
    cleanups.add(() => device.close());
    const serverAddress = numberToIpv4(pool.serverAddress);
    await device.addAddress(`${serverAddress}/${pool.cidr.prefix}`);
    metrics.start(() => device.linkUp());
    const server = await startConnectIpServer({ listen: cfg.listen, tls: cfg.tls, pool, routes: cfg.routes, device, metrics, logger });
    cleanups.add(() => server.close());
    await pipeline.start({ listen: false });
    logger.info(
      { listen: formatHostPort(server.address), metrics: http.url, tun: cfg.tun, address: `${serverAddress}/${pool.cidr.prefix}`, pool: cfg.pool, clientAddresses: pool.total, routes: cfg.routes },
      `masque-vpn server listening: CONNECT-IP over HTTP/2 on https://${formatHostPort(server.address)}, TUN ${cfg.tun} ${serverAddress}/${pool.cidr.prefix}, metrics ${http.url}`,
    );
    return {
      address: server.address,
      metricsAddress: http.address,
      metricsUrl: http.url,
      serverAddress,
      pipeline,
      device,
      tunnels: () => server.tunnels(),
    };
  });
}

/** A running client. */
export interface MasqueClient {
  readonly client: ConnectIpClient;
  readonly device: PacketDevice;
  /** Ends the tunnel, stops reconnecting and closes the device. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a client: TUN up, tunnel to `--server`, address and routes installed when assigned; reconnects
 * with backoff. Logs `masque-vpn client tunnel up: ADDRESS on TUN` at each tunnel.
 * @throws MasqueConfigError / CommanderError for flags; TunError.
 */
export async function runMasqueClient(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, opts: RunOptions = {}): Promise<MasqueClient> {
  const cfg = readClientConfig(argv);
  const logger = opts.logger ?? createLogger('masque-vpn-client', env);
  const device = await (opts.openDevice ?? openTun)(cfg.tun, cfg.mtu);
  const client = startConnectIpClient({ server: cfg.server, tls: cfg.tls, device, logger, backoffMs: cfg.backoffMs, maxBackoffMs: cfg.maxBackoffMs });
  logger.info({ server: cfg.server.href, tun: cfg.tun }, `masque-vpn client connecting to ${cfg.server.host} with TUN ${cfg.tun}`);
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await client.close();
      await device.close();
    })());
  if (opts.exitHandlers) exitOnSignal(close);
  return { client, device, close };
}

/**
 * `otel-contracts masque-vpn server|client ...`: runs until a signal.
 * @throws as the two runners do; Error for another sub-command.
 */
export async function runMasqueVpnCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'server') await runMasqueServer(rest, env, { exitHandlers: true });
  else if (sub === 'client') await runMasqueClient(rest, env, { exitHandlers: true });
  else throw new Error(sub === undefined ? 'masque-vpn: expected "server" or "client" (see --help of each)' : `masque-vpn ${sub}: expected "server" or "client" (see --help of each)`);
}

/**
 * The command line of `otel-contracts masque-vpn ...` (and `node components/masque-vpn/main.ts ...`):
 * {@link runMasqueVpnCommand}, with `--help` and flag errors exiting with commander's code and any
 * start-up failure printed as one line, exit 1.
 */
export function runMasqueVpnCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  return runComponent('masque-vpn', () => runMasqueVpnCommand(argv));
}

if (import.meta.main) void runMasqueVpnCli();
