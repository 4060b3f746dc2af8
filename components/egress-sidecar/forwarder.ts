import { randomFillSync } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP, connect, type Socket as TcpSocket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { HostPort } from './config.ts';
import { echoesQuestion, isResponse, isTruncated, rcodeOf, RCODE, tcpFrame, type QueryInfo } from './dns-wire.ts';

/**
 * Forwards allowed queries to the upstream resolvers (seed 000 §1, `dns_forward_duration_seconds`):
 * UDP first over one connected socket per upstream, query ids rewritten to random ones and matched
 * back together with the echoed question, any number of queries in flight, TCP when the UDP answer
 * is truncated, the next upstream on REFUSED/SERVFAIL/timeout, all within one budget per query.
 * Every pending entry is removed on its answer, its timeout, an error or close.
 */

/** Why a forward failed; the caller answers SERVFAIL and counts `result="forward_error"`. */
export type ForwardFailure = 'timeout' | 'refused' | 'overload' | 'closed';

/**
 * Receives the outcome of one forwarded query: exactly one of the two methods is called, once.
 * An object rather than closures, so that a query costs one allocation on the caller's side.
 */
export interface ForwardSink {
  /** The upstream's answer, with the client's id restored; `rcode` from its header. */
  answered(response: Buffer, rcode: number): void;
  /** No usable answer within the budget. */
  failed(reason: ForwardFailure, detail: string): void;
}

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

/** Writes a 16-bit id into a message's first two bytes (big-endian), as `writeUInt16BE(id, 0)` without its checks. */
function writeId(message: Buffer, id: number): void {
  message[0] = id >>> 8;
  message[1] = id & 0xff;
}

/** One forwarded query across its attempts. */
class Job {
  readonly query: Buffer;
  readonly q: QueryInfo;
  readonly maxResponseBytes: number;
  readonly sink: ForwardSink;
  readonly deadline: number;
  /** Index of the upstream being tried. */
  attempt = 0;
  /** When the current attempt gives up (performance.now() milliseconds). */
  expiresAt = 0;
  /** The id the current UDP attempt went out under, while it is pending. */
  sentId = 0;
  /** Neighbours in the upstream's pending list (oldest first), while pending there. */
  older: Job | undefined = undefined;
  newer: Job | undefined = undefined;
  lastReason: ForwardFailure = 'timeout';
  lastFailure = 'no upstream answered';

  constructor(query: Buffer, q: QueryInfo, maxResponseBytes: number, sink: ForwardSink, deadline: number) {
    this.query = query;
    this.q = q;
    this.maxResponseBytes = maxResponseBytes;
    this.sink = sink;
    this.deadline = deadline;
  }
}

/**
 * The attempts pending on one upstream: a slot per 16-bit id (the answer's id finds its job with one array
 * read) and a list in send order, which is also expiry order (every attempt on an upstream has the same
 * budget). Adding and removing cost a few stores and allocate nothing; the slot table is 64 Ki references
 * (256 KiB), made on the first query.
 */
class PendingTable {
  private byId: (Job | undefined)[] | undefined;
  private oldest: Job | undefined;
  private newest: Job | undefined;
  size = 0;

  /** The job pending under `id`, if any. */
  get(id: number): Job | undefined {
    return this.byId?.[id];
  }

  /** Files `job` under `id` (free: see {@link get}) as the newest. */
  add(id: number, job: Job): void {
    const byId = (this.byId ??= new Array<Job | undefined>(65536).fill(undefined));
    byId[id] = job;
    job.sentId = id;
    job.older = this.newest;
    job.newer = undefined;
    if (this.newest === undefined) this.oldest = job;
    else this.newest.newer = job;
    this.newest = job;
    this.size++;
  }

  /** Removes a pending `job`. */
  remove(job: Job): void {
    (this.byId as (Job | undefined)[])[job.sentId] = undefined;
    const { older, newer } = job;
    if (older === undefined) this.oldest = newer;
    else older.newer = newer;
    if (newer === undefined) this.newest = older;
    else newer.older = older;
    job.older = undefined;
    job.newer = undefined;
    this.size--;
  }

  /** The job pending longest, or undefined. */
  first(): Job | undefined {
    return this.oldest;
  }
}

/** What an upstream reports back to the forwarder. */
interface UpstreamEvents {
  answer(job: Job, up: UdpUpstream, response: Buffer): void;
  silent(job: Job, up: UdpUpstream, why: string): void;
  drop(reason: UpstreamDrop): void;
}

/** Timer callback without a closure: `setTimeout(sweep, ms, upstream)`. */
function sweep(up: UdpUpstream): void {
  up.sweep();
}

/**
 * One upstream over a connected UDP socket: the kernel only delivers datagrams from that address.
 * Every attempt on it has the same budget, so the pending map (insertion-ordered) is also ordered by
 * expiry: one timer, armed for the oldest entry, expires them in order instead of a timer per query.
 */
class UdpUpstream {
  readonly address: HostPort;
  readonly label: string;
  private readonly socket: UdpSocket;
  private readonly pending = new PendingTable();
  private readonly ids: IdSource;
  private readonly events: UpstreamEvents;
  private readonly budgetMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(address: HostPort, budgetMs: number, ids: IdSource, events: UpstreamEvents, logger: Logger) {
    this.address = address;
    this.budgetMs = budgetMs;
    this.label = `${address.host}:${address.port}`;
    this.ids = ids;
    this.events = events;
    this.socket = createSocket({ type: isIP(address.host) === 6 ? 'udp6' : 'udp4' });
    this.socket.on('message', (msg) => this.onMessage(msg));
    this.socket.on('error', (err) => logger.debug({ err, upstream: this.label }, 'upstream UDP socket error; the query times out and the next upstream is tried'));
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
   * Sends the job's query under a fresh random id; the forwarder hears of it exactly once, by
   * `answer` or `silent` (after the budget). Returns false, sending nothing, when too many are in flight.
   * @param now performance.now() of the caller.
   */
  send(job: Job, now: number): boolean {
    if (this.pending.size >= MAX_PENDING_PER_UPSTREAM) return false;
    let id = this.ids.take();
    while (this.pending.get(id) !== undefined) id = this.ids.take();
    writeId(job.query, id);
    job.expiresAt = now + this.budgetMs;
    this.pending.add(id, job);
    if (this.timer === undefined) this.timer = setTimeout(sweep, this.budgetMs, this);
    this.socket.send(job.query);
    return true;
  }

  /** Expires the attempts whose budget is spent, oldest first, and re-arms for the next one. */
  sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    for (let job = this.pending.first(); job !== undefined; job = this.pending.first()) {
      if (job.expiresAt > now) {
        this.timer = setTimeout(sweep, Math.ceil(job.expiresAt - now), this);
        return;
      }
      this.pending.remove(job);
      this.events.silent(job, this, `no answer within ${this.budgetMs} ms`);
    }
  }

  private onMessage(msg: Buffer): void {
    if (!isResponse(msg)) return this.events.drop('malformed');
    const job = this.pending.get(((msg[0] as number) << 8) | (msg[1] as number));
    if (job === undefined || !echoesQuestion(msg, job.query, job.q.questionEnd)) return this.events.drop('unmatched_response');
    this.pending.remove(job);
    this.events.answer(job, this, msg);
  }

  /** Fails every pending query and closes the socket. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (let job = this.pending.first(); job !== undefined; job = this.pending.first()) {
      this.pending.remove(job);
      this.events.silent(job, this, 'closing');
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
    const events: UpstreamEvents = {
      answer: (job, up, response) => this.onAnswer(job, up, response),
      silent: (job, up, why) => {
        // On close, tryNext sees the forwarder closed and fails the job as 'closed' itself.
        job.lastFailure = `${up.label}: ${why}`;
        job.lastReason = 'timeout';
        job.attempt++;
        this.tryNext(job, performance.now());
      },
      drop: (reason) => this.onDrop(reason),
    };
    const share = Math.max(1, Math.floor(opts.timeoutMs / opts.upstreams.length));
    this.udp = opts.upstreams.map((u) => new UdpUpstream(u, share, this.ids, events, opts.logger));
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
   * Forwards one query; `sink` hears of it exactly once, within the budget (plus timer slack).
   * Upstreams are tried in order: REFUSED, SERVFAIL or silence moves to the next one; each attempt has
   * an equal share of the budget (budget / upstreams), so the attempts together never exceed it. The
   * last upstream's SERVFAIL is returned as an answer, its REFUSED as a failure. A truncated UDP answer is retried over TCP to the same
   * upstream; when the full answer does not fit `maxResponseBytes` (the UDP client's limit) the
   * truncated one is returned instead, so the client retries over TCP itself.
   *
   * @param query the client's message; its id is rewritten while in flight and restored before `sink` hears.
   * @param now performance.now() when the query arrived, if the caller has it.
   */
  forward(query: Buffer, q: QueryInfo, maxResponseBytes: number, sink: ForwardSink, now = performance.now()): void {
    if (this.closed) return sink.failed('closed', 'the proxy is shutting down');
    this.tryNext(new Job(query, q, maxResponseBytes, sink, now + this.timeoutMs), now);
  }

  private tryNext(job: Job, now: number): void {
    const n = this.udp.length;
    for (;;) {
      const i = job.attempt;
      if (i >= n || this.closed) return this.fail(job, this.closed ? 'closed' : job.lastReason, job.lastFailure);
      const up = this.udp[i] as UdpUpstream;
      if (up.send(job, now)) return;
      job.lastReason = 'overload';
      job.lastFailure = `${up.label}: ${MAX_PENDING_PER_UPSTREAM} queries already in flight`;
      job.attempt++;
    }
  }

  private onAnswer(job: Job, up: UdpUpstream, response: Buffer): void {
    const rcode = rcodeOf(response);
    const last = job.attempt === this.udp.length - 1;
    if ((rcode === RCODE.REFUSED || rcode === RCODE.SERVFAIL) && !last) {
      job.lastFailure = `${up.label}: rcode ${rcode}`;
      job.attempt++;
      return this.tryNext(job, performance.now());
    }
    if (rcode === RCODE.REFUSED) return this.fail(job, 'refused', `${up.label} refused the query`);
    if (!isTruncated(response)) return this.succeed(job, response, rcode);
    this.viaTcp(up, job.query, job.q, Math.floor(job.deadline - performance.now()), (full) => {
      if (full !== undefined && full.length <= job.maxResponseBytes) this.succeed(job, full, rcodeOf(full));
      else this.succeed(job, response, rcode);
    });
  }

  private succeed(job: Job, response: Buffer, rcode: number): void {
    writeId(job.query, job.q.id);
    writeId(response, job.q.id);
    job.sink.answered(response, rcode);
  }

  private fail(job: Job, reason: ForwardFailure, detail: string): void {
    writeId(job.query, job.q.id);
    job.sink.failed(reason, detail);
  }

  /**
   * One query over a fresh TCP connection (RFC 7766 framing), within `timeoutMs`; `done` gets the
   * answer or undefined. The connection is always destroyed and untracked afterwards.
   */
  private viaTcp(up: UdpUpstream, query: Buffer, q: QueryInfo, timeoutMs: number, done: (response: Buffer | undefined) => void): void {
    if (timeoutMs <= 0 || this.closed) return done(undefined);
    const id = this.ids.take();
    query.writeUInt16BE(id, 0);
    const frame = tcpFrame(query);
    const socket = connect({ host: up.address.host, port: up.address.port, noDelay: true });
    this.tcp.add(socket);
    let settled = false;
    let buffered: Buffer = Buffer.alloc(0);
    const settle = (response: Buffer | undefined, why?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.tcp.delete(socket);
      socket.destroy();
      if (why) this.logger.debug({ upstream: up.label, why }, 'TCP retry of a truncated answer failed; the truncated answer is returned');
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
        if (buffered.length < 2 + len) return;
        const msg = Buffer.from(buffered.subarray(2, 2 + len));
        buffered = buffered.subarray(2 + len);
        if (!isResponse(msg)) {
          this.onDrop('malformed');
          return settle(undefined, 'malformed TCP answer');
        }
        if (msg.readUInt16BE(0) !== id || !echoesQuestion(msg, query, q.questionEnd)) {
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
