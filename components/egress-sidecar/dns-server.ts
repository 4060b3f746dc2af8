import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { createServer, isIP, type Server, type Socket as TcpSocket } from 'node:net';
import type { Logger } from 'pino';
import { listen } from '../kit/listen.ts';
import type { HostPort } from './config.ts';
import { HEADER_BYTES, MAX_QUERY_BYTES, tcpFrame } from './dns-wire.ts';
import type { Resolver } from './resolver.ts';

/**
 * The DNS listeners: one UDP socket and one TCP server on the same address and port (seed 000 §1;
 * default 127.0.0.1:15353, :53 in a pod). TCP uses RFC 7766 framing; connections are capped in number,
 * in queries in flight and in idle time. When the connection table is full, a new connection evicts
 * the least recently active idle one (RFC 7766 §6.2.3: servers may close idle connections to free
 * resources), so idle connections held open by a flood never lock out a real query.
 */

/** Options of {@link startDnsServer}. */
export interface DnsServerOptions {
  readonly listen: HostPort;
  readonly resolver: Resolver;
  readonly logger: Logger;
}

/** Running DNS listeners. */
export interface DnsServer {
  /** The bound address; UDP and TCP share the port. */
  readonly address: HostPort;
  /** The TCP connection table: open connections, and how many were evicted or refused because it was full. */
  tcpConnections(): TcpTableStats;
  /** Stops both listeners and ends open TCP connections. Idempotent. */
  close(): Promise<void>;
}

/** Counts of the TCP connection table (see {@link DnsServer.tcpConnections}). */
export interface TcpTableStats {
  readonly open: number;
  /** The most connections held at once ({@link MAX_TCP_CONNECTIONS}). */
  readonly max: number;
  /** Idle connections closed to make room for a new one. */
  readonly evicted: number;
  /** New connections closed because every held connection had a query in flight. */
  readonly refused: number;
}

/** Most TCP connections at once. */
export const MAX_TCP_CONNECTIONS = 256;
/** A TCP connection with no query for this long is closed, in milliseconds. */
const TCP_IDLE_MS = 10_000;
/** Queries in flight on one TCP connection before it is closed. */
const MAX_TCP_IN_FLIGHT = 128;
/** Port-0 binds retried when the UDP port happens to be taken over TCP. */
const BIND_ATTEMPTS = 8;

/**
 * Binds UDP, then TCP on the same port (for port 0, the port UDP got; retried when TCP finds it taken).
 * @throws the bind error with the address and what to do (EADDRINUSE, EACCES for ports below 1024).
 */
export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < (opts.listen.port === 0 ? BIND_ATTEMPTS : 1); attempt++) {
    const udp = await bindUdp(opts.listen).catch((e: unknown) => {
      throw bindError(e, opts.listen, 'UDP');
    });
    const port = udp.address().port;
    try {
      const table = new TcpTable(MAX_TCP_CONNECTIONS, opts.logger);
      const tcp = await bindTcp({ host: opts.listen.host, port }, opts.resolver, table);
      return serve(udp, tcp, table, { host: opts.listen.host, port }, opts);
    } catch (e) {
      udp.close();
      lastErr = e;
      if (opts.listen.port !== 0 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
    }
  }
  throw bindError(lastErr, opts.listen, 'TCP');
}

function bindError(e: unknown, at: HostPort, transport: string): Error {
  const err = e as NodeJS.ErrnoException;
  const where = `${at.host}:${at.port}`;
  const hint =
    err.code === 'EADDRINUSE' ? 'another process listens there; stop it or pass --dns-listen HOST:PORT'
    : err.code === 'EACCES' ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE; or pass --dns-listen 127.0.0.1:15353'
    : 'check --dns-listen';
  return new Error(`cannot listen for DNS over ${transport} on ${where}: ${err.message} (${hint})`);
}

/**
 * Answers go to `rinfo.address`, always an IP literal: resolve those synchronously instead of through
 * dns.lookup and a tick per datagram (the default); anything else (`localhost` at bind) the usual way.
 */
function literalLookup(host: string, opts: LookupOneOptions, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  // Clients are few (usually one address in a pod): the last literal seen spares isIP's regex per answer.
  if (host === lastLiteral) return cb(null, host, lastLiteralFamily);
  const family = isIP(host);
  if (family === 0) return dnsLookup(host, opts, cb);
  lastLiteral = host;
  lastLiteralFamily = family;
  cb(null, host, family);
}
let lastLiteral = '';
let lastLiteralFamily = 0;

function bindUdp(at: HostPort): Promise<UdpSocket> {
  const socket = createSocket({ type: isIP(at.host) === 6 ? 'udp6' : 'udp4', lookup: literalLookup, recvBufferSize: 4 << 20 });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(at.port, at.host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** Connections a full-table log line is summarised over, in milliseconds. */
const TABLE_FULL_LOG_MS = 10_000;

/** One held TCP connection. */
interface TcpConnection {
  readonly socket: TcpSocket;
  /** Queries read and not yet answered. */
  inFlight: number;
}

/**
 * The TCP connection table, at most `max` connections, kept in order of last activity (a query read
 * or an answer written moves a connection to the end). A new connection that finds it full evicts the
 * least recently active connection with no query in flight; only when every held connection is busy
 * is the new one refused. Seed 000 §1 (the DNS proxy must keep answering); RFC 7766 §6.2.3.
 */
class TcpTable {
  private readonly held = new Map<TcpSocket, TcpConnection>();
  private readonly max: number;
  private readonly logger: Logger;
  private evicted = 0;
  private refused = 0;
  private loggedAt = -Infinity;
  private sinceLog = { evicted: 0, refused: 0 };

  constructor(max: number, logger: Logger) {
    this.max = max;
    this.logger = logger;
  }

  /** Admits a new connection, evicting the oldest idle one when full. @returns undefined when refused (the socket is destroyed). */
  admit(socket: TcpSocket): TcpConnection | undefined {
    if (this.held.size >= this.max) {
      const victim = this.oldestIdle();
      if (victim) {
        this.remove(victim.socket);
        victim.socket.destroy();
        this.evicted++;
        this.sinceLog.evicted++;
      } else {
        socket.destroy();
        this.refused++;
        this.sinceLog.refused++;
        this.logFull();
        return undefined;
      }
      this.logFull();
    }
    const conn: TcpConnection = { socket, inFlight: 0 };
    this.held.set(socket, conn);
    return conn;
  }

  /** Marks activity: the connection becomes the most recently active. */
  touch(conn: TcpConnection): void {
    if (this.held.delete(conn.socket)) this.held.set(conn.socket, conn);
  }

  remove(socket: TcpSocket): void {
    this.held.delete(socket);
  }

  sockets(): IterableIterator<TcpSocket> {
    return this.held.keys();
  }

  stats(): TcpTableStats {
    return { open: this.held.size, max: this.max, evicted: this.evicted, refused: this.refused };
  }

  /** Oldest first; a busy connection is skipped. At most `max` steps. */
  private oldestIdle(): TcpConnection | undefined {
    for (const conn of this.held.values()) if (conn.inFlight === 0) return conn;
    return undefined;
  }

  /** One warn line per window, with the counts since the previous line. */
  private logFull(): void {
    const now = performance.now();
    if (now - this.loggedAt < TABLE_FULL_LOG_MS) return;
    this.loggedAt = now;
    this.logger.warn(
      { max: this.max, evicted: this.sinceLog.evicted, refused: this.sinceLog.refused, evictedTotal: this.evicted, refusedTotal: this.refused },
      `DNS TCP connection table full (${this.max}): evicting the least recently active idle connections for new ones (summarised every ${TABLE_FULL_LOG_MS / 1000} s); a client holding many idle connections may be flooding the port`,
    );
    this.sinceLog = { evicted: 0, refused: 0 };
  }
}

/** Listens for DNS over TCP on `at` (the kit's {@link listen}); connections go through `table`. */
async function bindTcp(at: HostPort, resolver: Resolver, table: TcpTable): Promise<Server> {
  const server = createServer({ noDelay: true }, (socket) => {
    const conn = table.admit(socket);
    if (!conn) return;
    socket.on('close', () => table.remove(socket));
    serveTcpConnection(conn, resolver, table);
  });
  await listen(server, at);
  return server;
}

function serve(udp: UdpSocket, tcp: Server, table: TcpTable, address: HostPort, opts: DnsServerOptions): DnsServer {
  const { resolver, logger } = opts;
  let closed = false;
  const send = (response: Buffer, port: number, address: string) => {
    if (!closed) udp.send(response, port, address);
  };
  udp.on('message', (msg, rinfo) => {
    resolver.handle(msg, new UdpClient(rinfo.address, rinfo.port, send));
  });
  udp.on('error', (err) => logger.warn({ err }, 'DNS UDP socket error'));
  tcp.on('error', (err) => logger.warn({ err }, 'DNS TCP server error'));
  let closing: Promise<void> | undefined;
  return {
    address,
    tcpConnections: () => table.stats(),
    close() {
      closing ??= (async () => {
        closed = true;
        for (const s of [...table.sockets()]) s.destroy();
        await Promise.all([
          new Promise<void>((resolve) => udp.close(() => resolve())),
          new Promise<void>((resolve) => tcp.close(() => resolve())),
        ]);
      })();
      return closing;
    },
  };
}

/** A UDP client: answers go back from the listening socket to its address and port. */
class UdpClient {
  readonly address: string;
  readonly port: number;
  readonly transport = 'udp' as const;
  private readonly send: (response: Buffer, port: number, address: string) => void;

  constructor(address: string, port: number, send: (response: Buffer, port: number, address: string) => void) {
    this.address = address;
    this.port = port;
    this.send = send;
  }

  reply(response: Buffer): void {
    this.send(response, this.port, this.address);
  }
}

/** Reads length-prefixed queries off one connection and writes the answers, in completion order. */
function serveTcpConnection(conn: TcpConnection, resolver: Resolver, table: TcpTable): void {
  const socket = conn.socket;
  const client = {
    address: socket.remoteAddress ?? '',
    port: socket.remotePort ?? 0,
    transport: 'tcp' as const,
    reply(response: Buffer) {
      conn.inFlight--;
      if (socket.destroyed || !socket.writable) return;
      table.touch(conn);
      socket.write(tcpFrame(response));
    },
  };
  let buffered: Buffer = Buffer.alloc(0);
  socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const len = buffered.readUInt16BE(0);
      if (len > MAX_QUERY_BYTES) {
        resolver.drop('oversized');
        socket.destroy();
        return;
      }
      if (buffered.length < 2 + len) return;
      const msg = Buffer.from(buffered.subarray(2, 2 + len));
      buffered = buffered.subarray(2 + len);
      if (len < HEADER_BYTES) {
        resolver.drop('malformed');
        continue;
      }
      if (conn.inFlight >= MAX_TCP_IN_FLIGHT) {
        socket.destroy();
        return;
      }
      conn.inFlight++;
      table.touch(conn);
      if (!resolver.handle(msg, client)) conn.inFlight--;
    }
  });
}
