/**
 * `npm run bench:dns`: DNS throughput and latency on loopback, three ways against the same upstream
 * (dnsmasq answering `*.example.test` from `--address`, authoritative, no cache involved):
 *
 *   direct   client → upstream
 *   proxy    client → egress sidecar (child process, policy allow-all) → upstream
 *   dnsmasq  client → dnsmasq as a forwarder (`--cache-size=0`) → upstream
 *   relay    client → a bare Node UDP relay (no parsing, policy or metrics) → upstream: the floor of a
 *            forwarder on Node's dgram, measured beside ours
 *
 * Two passes each: latency with one query in flight (p50/p99 of unloaded round trips) and throughput
 * with a window of queries in flight (QPS, p50/p99 under load). Bounded: a fixed count and a time cap
 * per pass. The three paths are measured in interleaved rounds after a warm-up, and each figure is the
 * median of the rounds, so that a noisy neighbour on a shared 2-core machine skews all paths alike; the
 * added p50 is the median of per-round differences (each path against direct in the same round).
 * Targets (issue 12, item 6): added p50 ≤ 40 µs over direct; proxy QPS ≥ 1.5x dnsmasq's. The figures go
 * to bench/results/dns.json and dns.svg (`reportBenchmark`), and from there to the README (`bench/readme.ts`).
 *
 * Env: DNS_BENCH_COUNT (default 50000), DNS_BENCH_WINDOW (64), DNS_BENCH_LATENCY_COUNT (5000),
 * DNS_BENCH_ROUNDS (5), DNS_BENCH_CAP_MS (15000, per pass).
 */
import { query } from '../components/egress-sidecar/testing/dns-client.ts';
import { runLoad, type LoadResult } from './support/dns-load.ts';
import { stopAllProcesses } from '../test/processes.ts';
import { startDnsmasq, startNodeRelay, startSidecar } from './support/dns-procs.ts';
import { reportBenchmark } from './support/results.ts';
import type { Row as TableRow } from './support/table.ts';
import { runBench } from './support/run-bench.ts';

const COUNT = Number(process.env.DNS_BENCH_COUNT ?? 50_000);
const WINDOW = Number(process.env.DNS_BENCH_WINDOW ?? 64);
const LATENCY_COUNT = Number(process.env.DNS_BENCH_LATENCY_COUNT ?? 5000);
const CAP_MS = Number(process.env.DNS_BENCH_CAP_MS ?? 15_000);
const ROUNDS = Number(process.env.DNS_BENCH_ROUNDS ?? 5);
const WARMUP = 20_000;

const queries = Array.from({ length: 64 }, (_, i) => query(`host${i}.example.test`, 0));

interface Row {
  readonly name: string;
  readonly latency: LoadResult;
  readonly load: LoadResult;
  /** QPS of every round, for the record. */
  readonly rounds: readonly number[];
  /** p50 at one in flight of every round, in µs (paired with the other paths' by round). */
  readonly p50s: readonly number[];
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
    return { name: p.name, latency: medianRun(l, (r) => r.p50us), load: medianRun(t, (r) => r.qps), rounds: t.map((r) => Math.round(r.qps)), p50s: l.map((r) => r.p50us) };
  });
}

/**
 * What a path adds to direct's p50, round by round (both measured in the same round, moments apart), then the
 * median over rounds: direct's own p50 jumps between levels from round to round on this machine, and a
 * difference of two separate medians would carry that jump.
 */
function addedP50(path: Row, direct: Row): number {
  return median(path.p50s.map((p, i) => p - (direct.p50s[i] as number)));
}

/** The figures as benchmark rows: the egress sidecar is `ours`; latency ratios are to direct, QPS ratios to dnsmasq. */
function tableRows(rows: readonly Row[]): TableRow[] {
  const by = (name: string) => rows.find((r) => r.name === name) as Row;
  const [direct, proxy, dnsmasq, relay] = [by('direct'), by('proxy'), by('dnsmasq'), by('relay')];
  const peers = (pick: (r: Row) => number) => [
    { name: 'direct', value: pick(direct) },
    { name: 'ours', value: pick(proxy) },
    { name: 'dnsmasq', value: pick(dnsmasq) },
    { name: 'node relay (floor)', value: pick(relay) },
  ];
  return [
    { case: 'p50, 1 in flight', figures: peers((r) => r.latency.p50us), ratioTo: 'direct' },
    { case: 'p99, 1 in flight', figures: peers((r) => r.latency.p99us), ratioTo: 'direct' },
    {
      case: 'p50 added over direct (median of per-round differences)',
      figures: [
        { name: 'ours', value: addedP50(proxy, direct) },
        { name: 'dnsmasq', value: addedP50(dnsmasq, direct) },
        { name: 'node relay (floor)', value: addedP50(relay, direct) },
      ],
      target: { value: 40 },
    },
    { case: `QPS, ${WINDOW} in flight`, unit: 'queries/s', higherIsBetter: true, figures: peers((r) => r.load.qps), ratioTo: 'dnsmasq', target: { of: 'dnsmasq', factor: 1.5 } },
  ];
}

async function main(): Promise<void> {
  try {
    const upstream = await startDnsmasq({ authoritative: true });
    const proxy = await startSidecar(upstream.port);
    const forwarder = await startDnsmasq({ upstreamPort: upstream.port });
    const relay = await startNodeRelay(upstream.port);
    console.log(`dns bench: ${ROUNDS} interleaved rounds after a ${WARMUP}-query warm-up; ${COUNT} queries per throughput pass (window ${WINDOW}), ${LATENCY_COUNT} per latency pass (window 1), cap ${CAP_MS} ms per pass; medians`);
    console.log(`upstream dnsmasq (authoritative) :${upstream.port}, proxy :${proxy.port}, dnsmasq forwarder :${forwarder.port}, node relay :${relay.port}\n`);
    const rows = await measureAll([
      { name: 'direct', port: upstream.port },
      { name: 'proxy', port: proxy.port },
      { name: 'dnsmasq', port: forwarder.port },
      { name: 'relay', port: relay.port },
    ]);
    reportBenchmark('dns', 'DNS on loopback: egress sidecar (ours) vs dnsmasq forwarder vs a bare Node relay vs direct', 'µs', tableRows(rows));
    console.log(`\nQPS per round (${WINDOW} in flight): ${rows.map((r) => `${r.name} ${r.rounds.join(' / ')}`).join('; ')}`);
    console.log(`p50 per round (1 in flight, µs): ${rows.map((r) => `${r.name} ${r.p50s.map((x) => x.toFixed(0)).join(' / ')}`).join('; ')}`);
    console.log(`under load: ${rows.map((r) => `${r.name} p50 ${r.load.p50us.toFixed(0)} µs p99 ${r.load.p99us.toFixed(0)} µs, lost ${r.latency.lost + r.load.lost}`).join('; ')}`);
  } finally {
    await stopAllProcesses(3_000);
  }
}

await runBench('bench:dns', main);
