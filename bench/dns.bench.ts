/**
 * `npm run bench:dns`: DNS throughput and latency on loopback, three ways against the same upstream
 * (dnsmasq answering `*.example.test` from `--address`, authoritative, no cache involved):
 *
 *   direct   client → upstream
 *   proxy    client → egress sidecar (child process, policy allow-all) → upstream
 *   dnsmasq  client → dnsmasq as a forwarder (`--cache-size=0`) → upstream
 *
 * Two passes each: latency with one query in flight (p50/p99 of unloaded round trips) and throughput
 * with a window of queries in flight (QPS, p50/p99 under load). Bounded: a fixed count and a time cap
 * per pass. The three paths are measured in interleaved rounds after a warm-up, and each figure is the
 * median of the rounds, so that a noisy neighbour on a shared 2-core machine skews all paths alike.
 * Targets (issue 4): added p50 ≤ 100 µs over direct; proxy QPS ≥ dnsmasq's.
 *
 * Env: DNS_BENCH_COUNT (default 50000), DNS_BENCH_WINDOW (64), DNS_BENCH_LATENCY_COUNT (5000),
 * DNS_BENCH_ROUNDS (3), DNS_BENCH_CAP_MS (15000, per pass).
 */
import { query } from '../components/egress-sidecar/testing/dns-client.ts';
import { runLoad, type LoadResult } from './support/dns-load.ts';
import { stopAllProcesses } from '../test/processes.ts';
import { startDnsmasq, startSidecar } from './support/dns-procs.ts';

const COUNT = Number(process.env.DNS_BENCH_COUNT ?? 50_000);
const WINDOW = Number(process.env.DNS_BENCH_WINDOW ?? 64);
const LATENCY_COUNT = Number(process.env.DNS_BENCH_LATENCY_COUNT ?? 5000);
const CAP_MS = Number(process.env.DNS_BENCH_CAP_MS ?? 15_000);
const ROUNDS = Number(process.env.DNS_BENCH_ROUNDS ?? 3);
const WARMUP = 20_000;

const queries = Array.from({ length: 64 }, (_, i) => query(`host${i}.example.test`, 0));

interface Row {
  readonly name: string;
  readonly latency: LoadResult;
  readonly load: LoadResult;
  /** QPS of every round, for the record. */
  readonly rounds: readonly number[];
}

interface Path {
  readonly name: string;
  readonly port: number;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** The run whose value is the median, so the figures of one row come from one real pass. */
function medianRun(runs: readonly LoadResult[], key: (r: LoadResult) => number): LoadResult {
  const m = median(runs.map(key));
  return runs.find((r) => key(r) === m) as LoadResult;
}

async function measureAll(paths: readonly Path[]): Promise<Row[]> {
  // Warm-up: JIT, socket buffers, dnsmasq's forward table.
  for (const p of paths) await runLoad({ host: '127.0.0.1', port: p.port, queries, count: WARMUP, window: 16, timeCapMs: CAP_MS });
  const latency = new Map<string, LoadResult[]>(paths.map((p) => [p.name, []]));
  const load = new Map<string, LoadResult[]>(paths.map((p) => [p.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const p of paths) latency.get(p.name)?.push(await runLoad({ host: '127.0.0.1', port: p.port, queries, count: LATENCY_COUNT, window: 1, timeCapMs: CAP_MS }));
    for (const p of paths) load.get(p.name)?.push(await runLoad({ host: '127.0.0.1', port: p.port, queries, count: COUNT, window: WINDOW, timeCapMs: CAP_MS }));
  }
  return paths.map((p) => {
    const l = latency.get(p.name) as LoadResult[];
    const t = load.get(p.name) as LoadResult[];
    return { name: p.name, latency: medianRun(l, (r) => r.p50us), load: medianRun(t, (r) => r.qps), rounds: t.map((r) => Math.round(r.qps)) };
  });
}

function us(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(0)} µs` : 'n/a';
}

function ratio(a: number, b: number): string {
  return b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : 'n/a';
}

function printTable(rows: readonly Row[]): void {
  const direct = rows.find((r) => r.name === 'direct') as Row;
  const dnsmasq = rows.find((r) => r.name === 'dnsmasq') as Row;
  const header = ['path', 'p50 (w=1)', 'p99 (w=1)', '+p50 vs direct', `QPS (w=${WINDOW})`, 'p50 (load)', 'p99 (load)', 'lost', 'QPS vs direct', 'QPS vs dnsmasq'];
  const lines = rows.map((r) => [
    r.name,
    us(r.latency.p50us),
    us(r.latency.p99us),
    r.name === 'direct' ? '-' : `${(r.latency.p50us - direct.latency.p50us).toFixed(0)} µs`,
    r.load.qps.toFixed(0),
    us(r.load.p50us),
    us(r.load.p99us),
    String(r.latency.lost + r.load.lost),
    ratio(r.load.qps, direct.load.qps),
    ratio(r.load.qps, dnsmasq.load.qps),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const fmt = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
  console.log(`\nQPS per round (w=${WINDOW}): ${rows.map((r) => `${r.name} ${r.rounds.join(' / ')}`).join('; ')}`);
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void stopAllProcesses(3_000).then(() => process.exit(130)));
  try {
    const upstream = await startDnsmasq({ authoritative: true });
    const proxy = await startSidecar(upstream.port);
    const forwarder = await startDnsmasq({ upstreamPort: upstream.port });
    console.log(`dns bench: ${ROUNDS} interleaved rounds after a ${WARMUP}-query warm-up; ${COUNT} queries per throughput pass (window ${WINDOW}), ${LATENCY_COUNT} per latency pass (window 1), cap ${CAP_MS} ms per pass; medians`);
    console.log(`upstream dnsmasq (authoritative) :${upstream.port}, proxy :${proxy.port}, dnsmasq forwarder :${forwarder.port}\n`);
    const rows = await measureAll([
      { name: 'direct', port: upstream.port },
      { name: 'proxy', port: proxy.port },
      { name: 'dnsmasq', port: forwarder.port },
    ]);
    printTable(rows);
    const direct = rows[0] as Row;
    const p = rows[1] as Row;
    const d = rows[2] as Row;
    const added = p.latency.p50us - direct.latency.p50us;
    console.log(`\ntargets: added p50 ${added.toFixed(0)} µs (≤ 100 µs: ${added <= 100 ? 'met' : 'NOT met'}); proxy QPS ${p.load.qps.toFixed(0)} vs dnsmasq ${d.load.qps.toFixed(0)} (≥: ${p.load.qps >= d.load.qps ? 'met' : 'NOT met'})`);
  } finally {
    await stopAllProcesses(3_000);
  }
}

await main();
