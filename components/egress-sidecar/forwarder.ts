import { randomFillSync } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP, connect, type Socket as TcpSocket } from 'node:net';
import type { Logger } from 'pino';
import type { HostPort } from './config.ts';
import { parseResponse, RCODE, type QueryInfo, type ResponseInfo } from './dns-wire.ts';

/**
 * Forwards allowed queries to the upstream resolvers (seed 000 §1, `dns_forward_duration_seconds`):
 * UDP first over one connected socket per upstream, query ids rewritten to random ones and matched
 * back together with the echoed question, any number of queries in flight, TCP when the UDP answer
 * is truncated, the next upstream on REFUSED/SERVFAIL/timeout, all within one budget per query.
 * Every pending entry is removed on its answer, its timeout, an error or close.
 */

/** Why a forward failed; the caller answers SERVFAIL and counts `result="forward_error"`. */
export type ForwardFailure = 'timeout' | 'refused' | 'overload' | 'closed';

/** Outcome of {@link Forwarder.forward}. `response` carries the client's id again. */
export type ForwardOutcome =
  | { readonly ok: true; readonly response: Buffer; readonly rcode: number; readonly transport: 'udp' | 'tcp'; readonly upstream: HostPort }
  | { readonly ok: false; readonly reason: ForwardFailure; readonly detail: string };

/** Packets from upstreams that match nothing, for `otel_contracts_dns_packets_dropped_total`. */
export type UpstreamDrop = 'malformed' | 'unmatched_response';

/** Options of {@link Forwarder}. */
export interface ForwarderOptions {
  readonly upstreams: readonly HostPort[];
  /** Budget of one query across all attempts, in milliseconds. */
  readonly timeoutMs: number;
  readonly onDrop: (reason: UpstreamDrop) => void;
  readonly logger: Logger;
}

/** Most queries in flight to one upstream over UDP (16-bit ids, with headroom for random picks). */
const MAX_PENDING_PER_UPSTREAM = 60_000;
/** Largest DNS message over TCP (2-byte length prefix). */
const MAX_TCP_MESSAGE = 65_535;

/** Random 16-bit ids from the CSPRNG, drawn in blocks so that a query costs one array read. */
class IdSource {
  private readonly block = new Uint16Array(4096);
  private next = this.block.length;
  take(): number {
    if (this.next === this.block.length) {
      randomFillSync(this.block);
      this.next = 0;
    }
    return this.block[this.next++] as number;
  }
}

type Answer = (response: Buffer | undefined, info: ResponseInfo | undefined, failure: string | undefined) => void;

interface Pending {
  readonly name: string;
  readonly qtype: number;
  readonly timer: NodeJS.Timeout;
  readonly done: Answer;
}

/** One upstream over a connected UDP socket: the kernel only delivers datagrams from that address. */
class UdpUpstream {
  readonly address: HostPort;
  private readonly socket: UdpSocket;
  private readonly pending = new Map<number, Pending>();
  private readonly ids: IdSource;
  private readonly onDrop: (reason: UpstreamDrop) => void;

  constructor(address: HostPort, ids: IdSource, onDrop: (reason: UpstreamDrop) => void, logger: Logger) {
    this.address = address;
    this.ids = ids;
    this.onDrop = onDrop;
    this.socket = createSocket({ type: isIP(address.host) === 6 ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    this.socket.on('message', (msg) => this.onMessage(msg));
    this.socket.on('error', (err) => logger.debug({ err, upstream: `${address.host}:${address.port}` }, 'upstream UDP socket error; the query times out and the next upstream is tried'));
  }

  /** Connects the socket. @throws the bind/connect error. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.connect(this.address.port, this.address.host, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Sends `query` (its id is overwritten) and calls `done` exactly once: with the response, or with
   * a failure after `timeoutMs`. Returns false, without calling `done`, when too many are in flight.
   */
  send(query: Buffer, q: QueryInfo, timeoutMs: number, done: Answer): boolean {
    if (this.pending.size >= MAX_PENDING_PER_UPSTREAM) return false;
    let id = this.ids.take();
    while (this.pending.has(id)) id = this.ids.take();
    query.writeUInt16BE(id, 0);
    const timer = setTimeout(() => {
      this.pending.delete(id);
      done(undefined, undefined, `no answer within ${timeoutMs} ms`);
    }, timeoutMs);
    this.pending.set(id, { name: q.name, qtype: q.qtype, timer, done });
    this.socket.send(query);
    return true;
  }

  private onMessage(msg: Buffer): void {
    const info = parseResponse(msg);
    if (info === undefined) return this.onDrop('malformed');
    const p = this.pending.get(info.id);
    // A response must echo the question; only error answers may omit it.
    if (p === undefined || (info.name !== undefined ? info.name !== p.name || info.qtype !== p.qtype : info.rcode === RCODE.NOERROR)) {
      return this.onDrop('unmatched_response');
    }
    this.pending.delete(info.id);
    clearTimeout(p.timer);
    p.done(msg, info, undefined);
  }

  /** Fails every pending query and closes the socket. */
  close(): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.done(undefined, undefined, 'closing');
    }
    this.socket.close();
  }
}

/**
 * Forwarder over all upstreams. Call {@link start} before {@link forward}.
 */
export class Forwarder {
  private readonly udp: UdpUpstream[];
  private readonly tcp = new Set<TcpSocket>();
  private readonly ids = new IdSource();
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly onDrop: (reason: UpstreamDrop) => void;
  private closed = false;

  constructor(opts: ForwarderOptions) {
    if (opts.upstreams.length === 0) throw new Error('Forwarder needs at least one upstream resolver');
    this.timeoutMs = opts.timeoutMs;
    this.logger = opts.logger;
    this.onDrop = opts.onDrop;
    this.udp = opts.upstreams.map((u) => new UdpUpstream(u, this.ids, opts.onDrop, opts.logger));
  }

  /** Binds and connects one UDP socket per upstream. @throws the socket error. */
  async start(): Promise<void> {
    await Promise.all(this.udp.map((u) => u.start()));
  }

  /** Queries in flight: UDP pending entries plus TCP connections; 0 when idle. */
  pendingCount(): number {
    let n = this.tcp.size;
    for (const u of this.udp) n += u.size;
    return n;
  }

  /**
   * Forwards one query and calls `done` exactly once, within the budget (plus timer slack).
   * Upstreams are tried in order: REFUSED, SERVFAIL or silence moves to the next one (each attempt gets
   * an equal share of the budget, the last one what remains); the last upstream's SERVFAIL is returned
   * as an answer. A truncated UDP answer is retried over TCP to the same upstream; when the full answer
   * does not fit `maxResponseBytes` (the UDP client's limit) the truncated one is returned instead, so
   * the client retries over TCP itself.
   *
   * @param query the client's message; its id is rewritten while in flight and restored before `done`.
   */
  forward(query: Buffer, q: QueryInfo, maxResponseBytes: number, done: (outcome: ForwardOutcome) => void): void {
    if (this.closed) return done({ ok: false, reason: 'closed', detail: 'the proxy is shutting down' });
    const deadline = performance.now() + this.timeoutMs;
    const n = this.udp.length;
    const share = Math.ceil(this.timeoutMs / n);
    const finish = (outcome: ForwardOutcome): void => {
      query.writeUInt16BE(q.id, 0);
      if (outcome.ok) outcome.response.writeUInt16BE(q.id, 0);
      done(outcome);
    };
    let lastFailure = 'no upstream answered';
    let lastReason: ForwardFailure = 'timeout';
    const attempt = (i: number): void => {
      const remaining = Math.floor(deadline - performance.now());
      if (i >= n || remaining <= 0 || this.closed) {
        return finish({ ok: false, reason: this.closed ? 'closed' : lastReason, detail: lastFailure });
      }
      const up = this.udp[i] as UdpUpstream;
      const budget = i === n - 1 ? remaining : Math.min(remaining, share);
      const sent = up.send(query, q, budget, (response, info, failure) => {
        if (response === undefined || info === undefined) {
          lastFailure = `${up.address.host}:${up.address.port}: ${failure}`;
          lastReason = failure === 'closing' ? 'closed' : 'timeout';
          return attempt(i + 1);
        }
        if ((info.rcode === RCODE.REFUSED || info.rcode === RCODE.SERVFAIL) && i < n - 1) {
          lastFailure = `${up.address.host}:${up.address.port}: rcode ${info.rcode}`;
          return attempt(i + 1);
        }
        if (info.rcode === RCODE.REFUSED) {
          return finish({ ok: false, reason: 'refused', detail: `${up.address.host}:${up.address.port} refused the query` });
        }
        if (!info.truncated) return finish({ ok: true, response, rcode: info.rcode, transport: 'udp', upstream: up.address });
        this.viaTcp(up.address, query, q, Math.floor(deadline - performance.now()), (full) => {
          if (full !== undefined && full.length <= maxResponseBytes) {
            finish({ ok: true, response: full, rcode: (full[3] as number) & 0x0f, transport: 'tcp', upstream: up.address });
          } else {
            finish({ ok: true, response, rcode: info.rcode, transport: 'udp', upstream: up.address });
          }
        });
      });
      if (!sent) {
        lastReason = 'overload';
        lastFailure = `${up.address.host}:${up.address.port}: ${MAX_PENDING_PER_UPSTREAM} queries already in flight`;
        attempt(i + 1);
      }
    };
    attempt(0);
  }

  /**
   * One query over a fresh TCP connection (RFC 7766 framing), within `timeoutMs`; `done` gets the
   * answer or undefined. The connection is always destroyed and untracked afterwards.
   */
  private viaTcp(up: HostPort, query: Buffer, q: QueryInfo, timeoutMs: number, done: (response: Buffer | undefined) => void): void {
    if (timeoutMs <= 0 || this.closed) return done(undefined);
    const id = this.ids.take();
    query.writeUInt16BE(id, 0);
    const frame = Buffer.allocUnsafe(2 + query.length);
    frame.writeUInt16BE(query.length, 0);
    query.copy(frame, 2);
    const socket = connect({ host: up.host, port: up.port, noDelay: true });
    this.tcp.add(socket);
    let settled = false;
    let buffered: Buffer = Buffer.alloc(0);
    const settle = (response: Buffer | undefined, why?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.tcp.delete(socket);
      socket.destroy();
      if (why) this.logger.debug({ upstream: `${up.host}:${up.port}`, why }, 'TCP retry of a truncated answer failed; the truncated answer is returned');
      done(response);
    };
    const timer = setTimeout(() => settle(undefined, `no answer within ${timeoutMs} ms`), timeoutMs);
    socket.on('connect', () => socket.write(frame));
    socket.on('error', (err) => settle(undefined, err.message));
    socket.on('close', () => settle(undefined, 'connection closed before an answer'));
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) {
          if (buffered.length > 2 + MAX_TCP_MESSAGE) settle(undefined, 'oversized TCP frame');
          return;
        }
        const msg = Buffer.from(buffered.subarray(2, 2 + len));
        buffered = buffered.subarray(2 + len);
        const info = parseResponse(msg);
        if (info === undefined) {
          this.onDrop('malformed');
          return settle(undefined, 'malformed TCP answer');
        }
        if (info.id !== id || (info.name !== undefined && (info.name !== q.name || info.qtype !== q.qtype))) {
          this.onDrop('unmatched_response');
          continue;
        }
        return settle(msg);
      }
    });
  }

  /** Fails everything in flight (SERVFAIL to the clients) and closes the sockets. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.udp) u.close();
    for (const s of this.tcp) s.destroy();
    this.tcp.clear();
  }
}
