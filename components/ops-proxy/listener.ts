import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { tokenChecker } from './auth.ts';
import type { HostPort, ListenConfig } from './config.ts';
import { ConnectionCap, touch, type Tracked } from './conn-cap.ts';
import { hostCandidates, httpError, readHttpHead } from './http-host.ts';
import { UNKNOWN_NAME, type OpsProxyMetrics, type Protocol } from './metrics.ts';
import { NameRegistry, type ControlSession } from './registry.ts';
import { MAX_CLIENT_HELLO_BYTES, readClientHello } from './sni.ts';
import { splice } from './splice.ts';
import { LineSplitter, WireError, decodePeerMessage, encode, type DataMessage } from './wire.ts';

/**
 * The listening peer (seed 001, "Proxy traffic", "Tunnel / proxy-id" and "Proxy / tunnel errors", all
 * "listening peer side"). It accepts control and DATA connections on `--control`, and public connections
 * on `--http` (routed by Host), `--https` (by the ClientHello SNI, TLS passed through) and each `--tcp`
 * port (by its fixed name). For a routed public connection it sends FORWARD with a fresh proxy_id over
 * the name's control connection, waits (bounded) for the DATA connection carrying that proxy_id and
 * pipes bytes both ways. Every step is recorded in the families named beside it.
 */

/** A running listening peer. */
export interface Listener {
  readonly control: HostPort;
  readonly http: HostPort | undefined;
  readonly https: HostPort | undefined;
  readonly tcp: readonly { name: string; address: HostPort }[];
  /** proxy_ids waiting for their DATA connection. */
  pendingCount(): number;
  /** Closes every listener and connection. Idempotent. */
  close(): Promise<void>;
}

interface Pending {
  readonly name: string;
  readonly protocol: Protocol;
  readonly socket: Socket;
  readonly tracked: Tracked;
  /** Bytes read while routing (request head, ClientHello), forwarded first. */
  readonly head: Buffer;
  /** performance.now() at accept. */
  readonly acceptedAt: number;
  readonly timer: NodeJS.Timeout;
  /** Ends the request as failed (once). */
  fail(): void;
  /** Ends the request with the outcome of its tunnel (once). */
  finish(ok: boolean): void;
}

function addressOf(server: Server): HostPort {
  const a = server.address() as AddressInfo;
  return { host: a.address, port: a.port };
}

function listen(server: Server, at: HostPort): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve(addressOf(server));
    });
  });
}

function remoteOf(s: Socket): string {
  return `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`;
}

/**
 * Starts the listening peer's servers.
 * @param token `OPS_PROXY_TOKEN`: REGISTER and DATA lines must carry it.
 * @throws the listen error (EADDRINUSE, EACCES) of any server; the ones already open are closed.
 */
export async function startListener(cfg: ListenConfig, token: string, metrics: OpsProxyMetrics, logger: Logger): Promise<Listener> {
  const { m } = metrics;
  const tokenOk = tokenChecker(token);
  const registry = new NameRegistry({
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
  metrics.serverRole();

  const pending = new Map<string, Pending>();
  /** Byte-count flushers of the tunnels in flight, run before every collection. */
  const tunnels = new Set<() => void>();
  const offCollect = metrics.pipeline.onCollect(() => {
    for (const flush of tunnels) flush();
  });
  const onEvict = (s: Socket) => logger.warn({ remote: remoteOf(s), max: cfg.maxConnections }, 'connection cap reached: closing the oldest idle connection');
  const publicCap = new ConnectionCap(cfg.maxConnections, onEvict);
  const controlCap = new ConnectionCap(cfg.maxConnections, onEvict);

  // ---- public side ----------------------------------------------------------------------------

  /** A public connection whose name is known (or not): count it and open the tunnel. */
  const route = (socket: Socket, tracked: Tracked, protocol: Protocol, candidates: readonly string[], head: Buffer, acceptedAt: number, why?: string) => {
    let name = UNKNOWN_NAME;
    let session: ControlSession | undefined;
    for (const c of candidates) {
      const found = registry.lookup(c);
      if (found.known) {
        name = c;
        session = found.session;
        break;
      }
    }
    m.ops_proxy_connections_total.add(1, { client_name: name });
    m.ops_proxy_requests_total.add(1, { client_name: name, protocol });
    let ended = false;
    const end = (ok: boolean) => {
      if (ended) return;
      ended = true;
      if (ok) m.ops_proxy_requests_success_total.add(1, { client_name: name, protocol });
      else {
        m.ops_proxy_requests_failed_total.add(1, { client_name: name, protocol });
        m.ops_proxy_connections_failed_total.add(1, { client_name: name });
      }
    };
    const refuse = (body: string) => {
      end(false);
      if (protocol === 'http' && !socket.destroyed) socket.end(httpError(502, body));
      else socket.end();
      socket.resume(); // read and drop whatever else the client sends until the close
    };
    if (session === undefined) {
      m.ops_proxy_proxy_errors_total.add(1, { client_name: name, reason: 'no_client' });
      logger.debug({ protocol, client_name: name, candidates: candidates.slice(0, 1), why, remote: remoteOf(socket) }, 'no connected peer for this name');
      refuse(name === UNKNOWN_NAME ? 'ops-proxy: no route for this host' : 'ops-proxy: the service is not connected');
      return;
    }
    m.ops_proxy_connections_active.add(1, { client_name: name });
    let active = true;
    const finish = (ok: boolean) => {
      end(ok);
      if (active) {
        active = false;
        m.ops_proxy_connections_active.add(-1, { client_name: name });
      }
    };
    const proxyId = randomBytes(12).toString('base64url');
    const unpend = () => {
      const p = pending.get(proxyId);
      if (!p) return false;
      pending.delete(proxyId);
      clearTimeout(p.timer);
      m.ops_proxy_pending_data_connections.add(-1);
      return true;
    };
    const failNow = (reason: 'forward_write_error' | 'data_timeout' | 'data_io_error' | undefined, body: string) => {
      if (reason) m.ops_proxy_proxy_errors_total.add(1, { client_name: name, reason });
      finish(false);
      if (protocol === 'http' && !socket.destroyed) socket.end(httpError(502, body));
      else socket.destroy();
      socket.resume();
    };
    const timer = setTimeout(() => {
      if (!unpend()) return;
      m.ops_proxy_data_connections_timeout_total.add(1, { client_name: name });
      logger.warn({ client_name: name, proxy_id: proxyId, timeoutMs: cfg.dataTimeoutMs }, 'no DATA connection in time');
      failNow('data_timeout', 'ops-proxy: the service did not answer in time');
    }, cfg.dataTimeoutMs);
    pending.set(proxyId, {
      name,
      protocol,
      socket,
      tracked,
      head,
      acceptedAt,
      timer,
      fail: () => failNow('data_io_error', 'ops-proxy: the service could not reach its backend'),
      finish,
    });
    m.ops_proxy_pending_data_connections.add(1);
    socket.once('close', () => {
      // The client gave up before the tunnel was up.
      if (unpend()) finish(false);
    });
    const accepted = session.send(encode({ op: 'forward', proxy_id: proxyId, name }), (e) => {
      if (!unpend()) return;
      logger.warn({ client_name: name, err: e.message }, 'FORWARD write failed');
      failNow('forward_write_error', 'ops-proxy: the service connection failed');
    });
    if (!accepted) {
      unpend();
      logger.warn({ name }, 'FORWARD could not be written: the control connection is closing');
      failNow('forward_write_error', 'ops-proxy: the service connection failed');
      return;
    }
    m.ops_proxy_forward_commands_total.add(1, { client_name: name });
  };

  /** Reads the first bytes (request head or ClientHello) within the header timeout, then routes. */
  const acceptPublic = (protocol: Protocol, fixedName?: string) => (socket: Socket) => {
    const acceptedAt = performance.now();
    const tracked = publicCap.admit(socket);
    socket.setNoDelay(true);
    socket.on('error', (e) => logger.debug({ err: e.message, protocol }, 'public connection error'));
    socket.setTimeout(cfg.idleTimeoutMs, () => socket.destroy());
    if (fixedName !== undefined) {
      socket.pause();
      route(socket, tracked, protocol, [fixedName], Buffer.alloc(0), acceptedAt);
      return;
    }
    let buf: Buffer = Buffer.alloc(0);
    const headerTimer = setTimeout(() => {
      socket.off('data', onData);
      socket.off('end', onEarlyEnd);
      route(socket, tracked, protocol, [], buf, acceptedAt, 'header timeout');
      socket.destroy();
    }, cfg.headerTimeoutMs);
    const decided = (candidates: string[], why?: string) => {
      clearTimeout(headerTimer);
      socket.off('data', onData);
      socket.off('end', onEarlyEnd);
      socket.pause();
      route(socket, tracked, protocol, candidates, buf, acceptedAt, why);
    };
    const onData = (chunk: Buffer) => {
      touch(tracked);
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (protocol === 'http') {
        const r = readHttpHead(buf);
        if (r.kind === 'incomplete') return;
        if (r.kind === 'host') return decided(hostCandidates(r.host));
        if (r.kind === 'no_host') return decided([], 'no Host header');
        clearTimeout(headerTimer);
        socket.off('data', onData);
        socket.off('end', onEarlyEnd);
        route(socket, tracked, protocol, [], buf, acceptedAt, r.why);
        return;
      }
      const r = readClientHello(buf);
      if (r.kind === 'incomplete' && buf.length <= MAX_CLIENT_HELLO_BYTES) return;
      if (r.kind === 'sni') return decided([r.name.toLowerCase()]);
      return decided([], r.kind === 'no_sni' ? 'ClientHello without SNI' : r.kind === 'not_tls' ? r.why : 'ClientHello too long');
    };
    // The client ended (or closed) before its request head or ClientHello was complete.
    const onEarlyEnd = () => {
      clearTimeout(headerTimer);
      socket.off('data', onData);
      route(socket, tracked, protocol, [], buf, acceptedAt, 'closed before a request head or ClientHello');
      socket.destroy();
    };
    socket.on('data', onData);
    socket.once('end', onEarlyEnd);
    socket.once('close', () => clearTimeout(headerTimer));
  };

  // ---- control port: control and DATA connections -----------------------------------------------

  const onData = (socket: Socket, tracked: Tracked, msg: DataMessage, rest: Buffer) => {
    if (!tokenOk(msg.token)) {
      m.ops_proxy_data_connections_unexpected_total.add(1);
      logger.warn({ remote: remoteOf(socket) }, 'DATA connection refused: bad token');
      socket.end(encode({ op: 'error', error: 'unauthorized' }));
      return;
    }
    const p = pending.get(msg.proxy_id);
    if (!p) {
      m.ops_proxy_data_connections_unexpected_total.add(1);
      logger.warn({ remote: remoteOf(socket), proxy_id: msg.proxy_id.slice(0, 64) }, 'DATA connection with no pending proxy_id');
      socket.destroy();
      return;
    }
    pending.delete(msg.proxy_id);
    clearTimeout(p.timer);
    m.ops_proxy_pending_data_connections.add(-1);
    m.ops_proxy_data_connections_matched_total.add(1, { client_name: p.name });
    if (msg.error !== undefined || p.socket.destroyed) {
      if (msg.error !== undefined) logger.warn({ client_name: p.name, error: msg.error }, 'the connecting peer could not reach the backend');
      socket.destroy();
      if (p.socket.destroyed) p.finish(false);
      else p.fail();
      return;
    }
    metrics.latency(p.name, p.protocol, (performance.now() - p.acceptedAt) / 1000);
    socket.setNoDelay(true);
    socket.setTimeout(cfg.idleTimeoutMs, () => socket.destroy());
    // Byte counts are summed here per read and added to the counters at each collection (scrape or push)
    // and when the tunnel ends, not per read.
    const labels = { client_name: p.name };
    let tx = p.head.length;
    let rx = rest.length;
    const flushBytes = () => {
      if (tx > 0) m.ops_proxy_connections_bytes_tx_total.add(tx, labels);
      if (rx > 0) m.ops_proxy_connections_bytes_rx_total.add(rx, labels);
      tx = rx = 0;
    };
    tunnels.add(flushBytes);
    if (p.head.length > 0) socket.write(p.head);
    if (rest.length > 0) p.socket.write(rest);
    splice(p.socket, socket, {
      aToB: (n) => {
        touch(p.tracked);
        touch(tracked);
        tx += n;
      },
      bToA: (n) => {
        touch(p.tracked);
        touch(tracked);
        rx += n;
      },
      done: (error) => {
        tunnels.delete(flushBytes);
        flushBytes();
        if (error) m.ops_proxy_proxy_errors_total.add(1, { client_name: p.name, reason: 'data_io_error' });
        p.finish(error === undefined);
      },
    });
  };

  const acceptControl = (socket: Socket) => {
    const tracked = controlCap.admit(socket);
    const remote = remoteOf(socket);
    const lines = new LineSplitter();
    let session: ControlSession | undefined;
    socket.setNoDelay(true);
    socket.on('error', (e) => logger.debug({ err: e.message, remote }, 'control connection error'));
    socket.setTimeout(cfg.headerTimeoutMs, () => {
      if (session) logger.warn({ remote, timeoutMs: cfg.controlTimeoutMs }, 'control connection without a REGISTER refresh in time: closing it');
      socket.destroy();
    });
    const reject = (why: string) => {
      logger.warn({ remote, why }, 'malformed control message: closing this connection');
      socket.off('data', onBytes);
      if (!socket.destroyed) socket.end(encode({ op: 'error', error: `malformed: ${why}`.slice(0, 500) }));
      socket.destroy();
    };
    const onBytes = (chunk: Buffer) => {
      touch(tracked);
      lines.append(chunk);
      for (;;) {
        let line: string | undefined;
        try {
          line = lines.next();
        } catch (e) {
          return reject((e as Error).message);
        }
        if (line === undefined) return;
        let msg;
        try {
          msg = decodePeerMessage(line);
        } catch (e) {
          return reject(e instanceof WireError ? e.message : 'bad message');
        }
        if (msg.op === 'data') {
          if (session) return reject('data on a control connection');
          socket.off('data', onBytes);
          socket.off('end', onEnd);
          socket.pause();
          socket.setTimeout(0);
          onData(socket, tracked, msg, lines.rest());
          return;
        }
        if (!tokenOk(msg.token)) {
          logger.warn({ remote, names: msg.names.slice(0, 10) }, 'REGISTER refused: bad token; these names are not routed');
          socket.off('data', onBytes);
          socket.end(encode({ op: 'error', error: 'unauthorized' }));
          socket.destroy();
          return;
        }
        if (!session) {
          const s: ControlSession = {
            remote,
            send(line, onError) {
              if (socket.destroyed || !socket.writable) return false;
              socket.write(line, (e) => {
                if (e) onError(e);
              });
              return true;
            },
          };
          session = s;
          socket.setTimeout(cfg.controlTimeoutMs);
          socket.once('close', () => {
            registry.closed(s);
            logger.info({ remote }, 'control connection closed: its names are down');
          });
          logger.info({ remote, names: msg.names }, 'peer registered');
        }
        registry.register(session, msg.names);
        socket.write(encode({ op: 'registered', names: msg.names }));
      }
    };
    // The port accepts half-open connections for DATA; a control connection ends with its peer's FIN.
    const onEnd = () => socket.destroy();
    socket.on('end', onEnd);
    socket.on('data', onBytes);
  };

  // ---- servers ------------------------------------------------------------------------------

  const servers: Server[] = [];
  const open = async (at: HostPort, handler: (s: Socket) => void): Promise<HostPort> => {
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
      for (const p of [...pending.values()]) clearTimeout(p.timer);
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))).concat([Promise.resolve(publicCap.destroyAll()), Promise.resolve(controlCap.destroyAll())]));
    })());

  try {
    const control = await open(cfg.control, acceptControl);
    const http = cfg.http ? await open(cfg.http, acceptPublic('http')) : undefined;
    const https = cfg.https ? await open(cfg.https, acceptPublic('https')) : undefined;
    const tcp: { name: string; address: HostPort }[] = [];
    for (const route of cfg.tcp) tcp.push({ name: route.name, address: await open(route.listen, acceptPublic('tcp', route.name)) });
    return { control, http, https, tcp, pendingCount: () => pending.size, close };
  } catch (e) {
    await close();
    throw e;
  }
}
