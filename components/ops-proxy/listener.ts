import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { tokenChecker } from './auth.ts';
import type { HostPort, ListenConfig } from './config.ts';
import { controlAcceptor } from './control-side.ts';
import { LIMIT_REFUSAL, type OpsProxyMetrics, type RefusalReason } from './metrics.ts';
import { publicAcceptor } from './public-side.ts';
import { NameRegistry } from './registry.ts';
import { remoteOf } from './sockets.ts';
import { Tunnels } from './tunnels.ts';
import { Admission } from '../kit/admission.ts';
import { listen } from '../kit/listen.ts';

/**
 * The listening peer (seed 001, "Proxy traffic", "Tunnel / proxy-id" and "Proxy / tunnel errors", all
 * "listening peer side"), composed of its parts: the routing table (registry.ts), the connection limits
 * ({@link createAdmission}, on kit/admission.ts), the control port (control-side.ts: REGISTER sessions and
 * DATA lines), the public ports (public-side.ts: Host, SNI, TCP) and the tunnel matching between them
 * (tunnels.ts).
 */

/** A running listening peer. */
export interface Listener {
  /** Where each listener listens (the kernel's port when 0 was asked for). */
  readonly control: HostPort;
  readonly http: HostPort | undefined;
  readonly https: HostPort | undefined;
  readonly tcp: readonly { name: string; address: HostPort }[];
  /** proxy_ids waiting for their DATA connection. */
  pendingCount(): number;
  /** Closes every listener and connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the listening peer's servers: `--control`, then `--http`, `--https` and each `--tcp`.
 * @param token `OPS_PROXY_TOKEN`: REGISTER and DATA lines must carry it.
 * @throws the listen error (EADDRINUSE, EACCES, EADDRNOTAVAIL) of any server; the ones already open are closed.
 */
export async function startListener(cfg: ListenConfig, token: string, metrics: OpsProxyMetrics, logger: Logger): Promise<Listener> {
  const registry = createRegistry(metrics, logger);
  metrics.serverRole();
  const admission = createAdmission(cfg, metrics, logger);
  const tunnels = new Tunnels(cfg, metrics, logger);
  const offCollect = metrics.pipeline.onCollect(() => tunnels.flush());
  const deps = { cfg, metrics, logger, registry, admission, tunnels };

  const servers: Server[] = [];
  const open = (at: HostPort, handler: (s: Socket) => void): Promise<HostPort> => {
    const server = createServer({ allowHalfOpen: true, noDelay: true }, handler);
    server.on('error', (e) => logger.error({ err: e.message }, 'server error'));
    servers.push(server);
    return listen(server, at);
  };
  const pruneTimer = setInterval(() => registry.prune(cfg.pruneAfterMs), Math.max(1000, Math.min(60_000, cfg.pruneAfterMs / 4)));
  pruneTimer.unref();

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(pruneTimer);
      offCollect();
      tunnels.close();
      const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
      admission.destroyAll();
      await Promise.all(closed);
    })());

  try {
    const control = await open(cfg.control, controlAcceptor({ ...deps, tokenOk: tokenChecker(token) }));
    const http = cfg.http ? await open(cfg.http, publicAcceptor(deps, 'http')) : undefined;
    const https = cfg.https ? await open(cfg.https, publicAcceptor(deps, 'https')) : undefined;
    const tcp: { name: string; address: HostPort }[] = [];
    for (const route of cfg.tcp) tcp.push({ name: route.name, address: await open(route.listen, publicAcceptor(deps, 'tcp', route.name)) });
    return { control, http, https, tcp, pendingCount: () => tunnels.pendingCount(), close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * The listening peer's connection limits: unauthenticated connections (until an accepted REGISTER, a
 * matched DATA line, or a routed request head or ClientHello; a `--tcp` connection is routed at once)
 * under `--max-unauthenticated` and `--handshake-timeout-ms`; authenticated slots (a registered control
 * connection; a tunnel, which is its public connection and its DATA connection together) under
 * `--max-connections`. Every connection closed or refused by them is counted in
 * `otel_contracts_connections_refused_total{reason}` and logged.
 */
function createAdmission(cfg: ListenConfig, metrics: OpsProxyMetrics, logger: Logger): Admission {
  const logLimited = limitLog(logger);
  const limited = (reason: RefusalReason, socket: Socket) => {
    metrics.refused(reason);
    logLimited(reason, socket);
  };
  return new Admission(
    { maxUnauthenticated: cfg.maxUnauthenticated, sniffTimeoutMs: cfg.handshakeTimeoutMs, maxEstablished: cfg.maxConnections },
    { limited: (reason, socket) => limited(LIMIT_REFUSAL[reason], socket), full: (socket) => limited('connection_limit', socket) },
  );
}

/** Milliseconds between two log lines about one limit reason: a flood must not become a flood of log lines. */
const LIMIT_LOG_INTERVAL_MS = 10_000;

/**
 * Logs connections closed or refused by the limits at warn: the first of each reason at once, then at
 * most one line per reason every {@link LIMIT_LOG_INTERVAL_MS}, saying how many there were since. The
 * counter `otel_contracts_connections_refused_total{reason}` has every one.
 */
function limitLog(logger: Logger): (reason: RefusalReason, socket: Socket) => void {
  const last = new Map<RefusalReason, { at: number; since: number }>();
  return (reason, socket) => {
    const now = performance.now();
    const l = last.get(reason);
    if (l && now - l.at < LIMIT_LOG_INTERVAL_MS) {
      l.since++;
      return;
    }
    last.set(reason, { at: now, since: 0 });
    logger.warn({ reason, remote: remoteOf(socket), port: socket.localPort, sinceLastLine: l?.since ?? 0 }, 'connection closed or refused by the connection limits');
  };
}

/** The routing table, wired to the registry families and the log. */
function createRegistry(metrics: OpsProxyMetrics, logger: Logger): NameRegistry {
  const { m } = metrics;
  return new NameRegistry({
    known: (name) => metrics.nameKnown(name),
    registered: (name) => {
      m.ops_proxy_client_registrations_total.add(1, { client_name: name });
      m.ops_proxy_client_up.record(1, { client_name: name });
    },
    down: (name) => {
      m.ops_proxy_client_up.record(0, { client_name: name });
      m.ops_proxy_client_disconnects_total.add(1, { client_name: name });
    },
    counts: (total, connected) => metrics.clients(total, connected),
    forgotten: (name) => {
      metrics.forget(name);
      logger.info({ client_name: name }, 'routing name forgotten after the prune age');
    },
  });
}
