import { createSocket } from 'node:dgram';

/**
 * A bounded UDP DNS load generator for bench/dns.bench.ts: sends `count` queries (or stops at the time
 * cap) keeping `window` in flight, and measures each round trip. Queries are pre-encoded; each gets a
 * sequential id, so answers are matched by id. A query unanswered after `lossTimeoutMs` is counted lost
 * (never re-sent) and frees its slot, so the figures stay honest.
 */

/** Options of {@link runLoad}. */
export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  /** Pre-encoded queries, used round-robin; ids are overwritten. */
  readonly queries: readonly Buffer[];
  /** Queries to send. */
  readonly count: number;
  /** Queries in flight at once. */
  readonly window: number;
  /** Stop sending after this long, in milliseconds. */
  readonly timeCapMs: number;
  /** A query unanswered this long is counted lost and its slot reused, in milliseconds. */
  readonly lossTimeoutMs?: number;
}

/** Figures of one run. Latencies in microseconds. */
export interface LoadResult {
  readonly sent: number;
  readonly answered: number;
  readonly lost: number;
  readonly elapsedMs: number;
  readonly qps: number;
  readonly p50us: number;
  readonly p99us: number;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Runs one load pass. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  await new Promise<void>((resolve) => socket.connect(opts.port, opts.host, resolve));
  const sentAt = new Float64Array(65536).fill(-1);
  const latencies = new Float64Array(opts.count);
  const bufs = opts.queries.map((q) => Buffer.from(q));
  const lossMs = opts.lossTimeoutMs ?? 1000;
  let sent = 0;
  let answered = 0;
  let lost = 0;
  let inFlight = 0;
  const t0 = performance.now();
  const deadline = t0 + opts.timeCapMs;

  return new Promise<LoadResult>((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(sweeper);
      const elapsedMs = performance.now() - t0;
      socket.close();
      const sorted = latencies.slice(0, answered).sort();
      resolve({ sent, answered, lost: lost + inFlight, elapsedMs, qps: (answered / elapsedMs) * 1000, p50us: quantile(sorted, 0.5) * 1000, p99us: quantile(sorted, 0.99) * 1000 });
    };
    const sendOne = () => {
      const id = sent & 0xffff;
      const buf = bufs[sent % bufs.length] as Buffer;
      buf.writeUInt16BE(id, 0);
      sentAt[id] = performance.now();
      sent++;
      inFlight++;
      socket.send(buf);
    };
    const refill = () => {
      while (inFlight < opts.window && sent < opts.count && performance.now() < deadline) sendOne();
      if (inFlight === 0) finish();
    };
    socket.on('message', (msg) => {
      const id = msg.readUInt16BE(0);
      const at = sentAt[id] as number;
      if (at < 0) return; // late answer to a query already counted lost
      sentAt[id] = -1;
      latencies[answered++] = performance.now() - at;
      inFlight--;
      refill();
    });
    // Queries lost on the way (full socket buffers) free their slot after lossMs.
    const sweeper = setInterval(() => {
      const now = performance.now();
      for (let id = 0; id < 65536; id++) {
        const at = sentAt[id] as number;
        if (at >= 0 && now - at > lossMs) {
          sentAt[id] = -1;
          lost++;
          inFlight--;
        }
      }
      if (now > deadline + lossMs) {
        lost += inFlight;
        inFlight = 0;
      }
      refill();
    }, 200);
    refill();
  });
}
