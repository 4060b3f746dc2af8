import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { createServer, isIP, type Server, type Socket as TcpSocket } from 'node:net';
import type { Logger } from 'pino';
import type { HostPort } from './config.ts';
import { HEADER_BYTES, MAX_QUERY_BYTES, tcpFrame } from './dns-wire.ts';
import type { Resolver } from './resolver.ts';

/**
 * The DNS listeners: one UDP socket and one TCP server on the same address and port (seed 000 §1;
 * default 127.0.0.1:15353, :53 in a pod). TCP uses RFC 7766 framing; connections are capped in number,
 * in queries in flight and in idle time.
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
  /** Stops both listeners and ends open TCP connections. Idempotent. */
  close(): Promise<void>;
}

/** Most TCP connections at once. */
const MAX_TCP_CONNECTIONS = 256;
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
      const tcp = await bindTcp({ host: opts.listen.host, port }, opts.resolver);
      return serve(udp, tcp.server, tcp.sockets, { host: opts.listen.host, port }, opts);
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
  const family = isIP(host);
  if (family !== 0) cb(null, host, family);
  else dnsLookup(host, opts, cb);
}

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

function bindTcp(at: HostPort, resolver: Resolver): Promise<{ server: Server; sockets: Set<TcpSocket> }> {
  const sockets = new Set<TcpSocket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveTcpConnection(socket, resolver);
  });
  server.maxConnections = MAX_TCP_CONNECTIONS;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve({ server, sockets });
    });
  });
}

function serve(udp: UdpSocket, tcp: Server, sockets: Set<TcpSocket>, address: HostPort, opts: DnsServerOptions): DnsServer {
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
    close() {
      closing ??= (async () => {
        closed = true;
        for (const s of sockets) s.destroy();
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
function serveTcpConnection(socket: TcpSocket, resolver: Resolver): void {
  let inFlight = 0;
  const client = {
    address: socket.remoteAddress ?? '',
    port: socket.remotePort ?? 0,
    transport: 'tcp' as const,
    reply(response: Buffer) {
      inFlight--;
      if (socket.destroyed || !socket.writable) return;
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
      if (inFlight >= MAX_TCP_IN_FLIGHT) {
        socket.destroy();
        return;
      }
      inFlight++;
      if (!resolver.handle(msg, client)) inFlight--;
    }
  });
}
