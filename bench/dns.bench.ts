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
 * with a window of queries in flight (QPS, p50/p99 under load, and the CPU time the forwarding process
 * spent per query, user + system from /proc/PID/stat: less at the mercy of a busy neighbour than QPS).
 * Bounded: a fixed count and a time cap per pass. The paths are measured in interleaved rounds after a
 * warm-up, and each figure is the median of the rounds, so that a noisy neighbour on a shared 2-core
 * machine skews all paths alike; the added p50 is the median of per-round differences (each path against
 * direct in the same round); CPU per query is summed over every round (the /proc clock ticks at 10 ms).
 * Targets: added p50 ≤ 40 µs over direct; proxy QPS ≥ 0.95x the bare relay's in the same run (the relay is
 * the floor of any forwarder on Node's dgram; dnsmasq stays beside it as the peer users would pick instead).
 * Every row carries its unit (µs, or queries/s for QPS). The figures go
 * to bench/results/dns.json and dns.svg (`reportBenchmark`), and from there to the README (`bench/readme.ts`).
 *
 * Env: DNS_BENCH_COUNT (default 50000), DNS_BENCH_WINDOW (64), DNS_BENCH_LATENCY_COUNT (5000),
 * DNS_BENCH_ROUNDS (5), DNS_BENCH_CAP_MS (15000, per pass); the apply pass: DNS_BENCH_APPLY_RULES (10000),
 * DNS_BENCH_APPLY_ROUNDS (10 POSTs), DNS_BENCH_APPLY_RATE (2000 queries/s). A short dev run:
 * DNS_BENCH_ROUNDS=3 DNS_BENCH_COUNT=20000 DNS_BENCH_APPLY_ROUNDS=2 (a dev run still writes bench/results/dns.json).
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { query } from '../components/egress-sidecar/testing/dns-client.ts';
import { bigPolicy } from '../components/egress-sidecar/testing/policies.ts';
import { cpuSeconds } from '../e2e/support/process-usage.ts';
import { runLoad, type LoadResult } from './support/dns-load.ts';
import { freePort, freeTcpUdpPort } from '../test/ports.ts';
import { runNode, startNode, stopAllProcesses } from '../test/processes.ts';
import { startDnsmasq, startNodeRelay, startSidecar, waitForDns } from './support/dns-procs.ts';
import { reportBenchmark } from './support/results.ts';
import type { Row as TableRow } from './support/table.ts';
import { runBench } from './support/run-bench.ts';

const COUNT = Number(process.env.DNS_BENCH_COUNT ?? 50_000);
const WINDOW = Number(process.env.DNS_BENCH_WINDOW ?? 64);
const LATENCY_COUNT = Number(process.env.DNS_BENCH_LATENCY_COUNT ?? 5000);
const CAP_MS = Number(process.env.DNS_BENCH_CAP_MS ?? 15_000);
const ROUNDS = Number(process.env.DNS_BENCH_ROUNDS ?? 5);
const WARMUP = 20_000;
const APPLY_RULES = Number(process.env.DNS_BENCH_APPLY_RULES ?? 10_000);
const APPLY_ROUNDS = Number(process.env.DNS_BENCH_APPLY_ROUNDS ?? 10);
const APPLY_RATE = Number(process.env.DNS_BENCH_APPLY_RATE ?? 2000);
/** Pause between two POSTs, and before the first, in milliseconds. */
const APPLY_GAP_MS = 300;

const queries = Array.from({ length: 64 }, (_, i) => query(`host${i}.example.test`, 0));

interface Row {
  readonly name: string;
  readonly latency: LoadResult;
  readonly load: LoadResult;
  /** QPS of every round, for the record. */
  readonly rounds: readonly number[];
  /** p50 at one in flight of every round, in µs (paired with the other paths' by round). */
  readonly p50s: readonly number[];
  /**
   * CPU time (user + system, all threads) the forwarding process spent per answered query over every
   * throughput pass, in µs; undefined for a path without a process of its own (direct).
   */
  readonly cpuUsPerQuery: number | undefined;
}

interface Path {
  readonly name: string;
  readonly port: number;
  /** The forwarding process, whose CPU time per query is read from /proc (none for direct). */
  readonly pid?: number;
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
  // CPU seconds of each forwarding process over its throughput passes (the /proc clock ticks at 10 ms, so
  // summed over every pass rather than per pass).
  const cpu = new Map<string, number>(paths.map((p) => [p.name, 0]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const p of paths) latency.get(p.name)?.push(await runLoad({ host: '127.0.0.1', port: p.port, queries, count: LATENCY_COUNT, window: 1, timeCapMs: CAP_MS }));
    for (const p of paths) {
      const before = p.pid === undefined ? 0 : cpuSeconds(p.pid);
      load.get(p.name)?.push(await runLoad({ host: '127.0.0.1', port: p.port, queries, count: COUNT, window: WINDOW, timeCapMs: CAP_MS }));
      if (p.pid !== undefined) cpu.set(p.name, (cpu.get(p.name) as number) + cpuSeconds(p.pid) - before);
    }
  }
  return paths.map((p) => {
    const l = latency.get(p.name) as LoadResult[];
    const t = load.get(p.name) as LoadResult[];
    const answered = t.reduce((n, r) => n + r.answered, 0);
    const cpuUsPerQuery = p.pid === undefined || answered === 0 ? undefined : ((cpu.get(p.name) as number) * 1e6) / answered;
    return { name: p.name, latency: medianRun(l, (r) => r.p50us), load: medianRun(t, (r) => r.qps), rounds: t.map((r) => Math.round(r.qps)), p50s: l.map((r) => r.p50us), cpuUsPerQuery };
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

/** Ours' QPS over the relay's, round by round (the two measured moments apart in each round). */
function proxyOverRelay(rows: readonly Row[]): number[] {
  const proxy = rows.find((r) => r.name === 'proxy') as Row;
  const relay = rows.find((r) => r.name === 'relay') as Row;
  return proxy.rounds.map((q, i) => q / (relay.rounds[i] as number));
}

/**
 * The POSTing process of the apply pass: POSTs the policy file `rounds` times on one keep-alive connection,
 * `gap` ms apart, and prints one JSON line per POST: its status and when it started and ended (ms since the
 * epoch, comparable across processes on one machine).
 */
const APPLIER = `
const http = require('node:http');
const body = require('node:fs').readFileSync(process.argv[1]);
const [port, rounds, gap] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true });
const now = () => performance.timeOrigin + performance.now();
const post = () => new Promise((resolve, reject) => {
  const start = now();
  const req = http.request({ host: '127.0.0.1', port, path: '/policy', method: 'POST', agent, headers: { 'content-length': body.length } }, (res) => {
    res.resume();
    res.on('end', () => resolve({ start, end: now(), status: res.statusCode }));
  });
  req.setTimeout(30000, () => req.destroy(new Error('POST /policy: no answer in 30 s')));
  req.on('error', reject);
  req.end(body);
});
(async () => {
  for (let i = 0; i < rounds; i++) {
    await new Promise((r) => setTimeout(r, gap));
    console.log(JSON.stringify(await post()));
  }
  agent.destroy();
})();
`;

/** Figures of the apply pass, in µs. */
interface ApplyFigures {
  readonly before: { readonly n: number; readonly p99: number };
  readonly during: { readonly n: number; readonly p99: number; readonly max: number };
  /** Wall time of each POST, in ms. */
  readonly postsMs: readonly number[];
  /** The slowest answer in flight during each POST, in µs (the first POST meets a cold policy path). */
  readonly slowestPerPost: readonly number[];
  readonly lost: number;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
}

/**
 * Starts a sidecar of its own (allow-all at start, so the policy path is cold as in a real sandbox) and
 * measures its answers while a policy of {@link APPLY_RULES} rules is POSTed to it (see the file's comment).
 * Bounded: {@link APPLY_ROUNDS} POSTs, each with a 30 s timeout, and a query stream that stops with them.
 */
async function measureApply(upstreamPort: number): Promise<ApplyFigures> {
  const dnsPort = await freeTcpUdpPort();
  const httpPort = await freePort();
  const main = fileURLToPath(new URL('../components/egress-sidecar/main.ts', import.meta.url));
  const sidecar = startNode('egress sidecar (apply)', [main, '--dns-listen', `127.0.0.1:${dnsPort}`, '--http-listen', `127.0.0.1:${httpPort}`, '--upstream', `127.0.0.1:${upstreamPort}`], {
    OTEL_CONTRACTS_LOG_LEVEL: 'warn',
    OPENSANDBOX_EGRESS_INSTANCE_ID: 'bench-apply',
  });
  await waitForDns(sidecar, dnsPort);
  const dir = mkdtempSync(join(tmpdir(), 'dns-bench-'));
  const file = join(dir, 'policy.json');
  writeFileSync(file, JSON.stringify(bigPolicy(APPLY_RULES)));
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  await new Promise<void>((resolve) => socket.connect(dnsPort, '127.0.0.1', resolve));
  const clock = () => performance.timeOrigin + performance.now();
  const bufs = queries.map((q) => Buffer.from(q));
  const sentAt = new Float64Array(65536).fill(-1);
  const answered: { sent: number; us: number }[] = [];
  socket.on('message', (msg) => {
    const id = msg.readUInt16BE(0);
    const at = sentAt[id] as number;
    if (at < 0) return;
    sentAt[id] = -1;
    answered.push({ sent: at, us: (clock() - at) * 1000 });
  });
  // Open loop: every millisecond, the queries due at APPLY_RATE per second since the start.
  let sent = 0;
  const start = clock();
  const ticker = setInterval(() => {
    const due = Math.floor(((clock() - start) * APPLY_RATE) / 1000);
    for (; sent < due; sent++) {
      const id = sent & 0xffff;
      const buf = bufs[sent % bufs.length] as Buffer;
      buf.writeUInt16BE(id, 0);
      sentAt[id] = clock();
      socket.send(buf);
    }
  }, 1);
  try {
    const posts = await runNode('policy POSTs', ['-e', APPLIER, file, String(httpPort), String(APPLY_ROUNDS), String(APPLY_GAP_MS)], {}, APPLY_ROUNDS * (APPLY_GAP_MS + 30_000) + 10_000);
    if (posts.code !== 0) throw new Error(`the policy POSTs failed:\n${posts.describe}`);
    await new Promise((resolve) => setTimeout(resolve, APPLY_GAP_MS)); // a last stretch "before"
    clearInterval(ticker);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the last answers (or their loss)
    const windows = posts.stdout.trim().split('\n').map((l) => JSON.parse(l) as { start: number; end: number; status: number });
    const bad = windows.filter((w) => w.status !== 200);
    if (bad.length > 0 || windows.length !== APPLY_ROUNDS) throw new Error(`POST /policy answered ${windows.map((w) => w.status).join(', ')}:\n${posts.describe}`);
    const overlaps = (q: { sent: number; us: number }, margin: number) => windows.some((w) => q.sent <= w.end + margin && q.sent + q.us / 1000 >= w.start - margin);
    const during = answered.filter((q) => overlaps(q, 0)).map((q) => q.us).sort((a, b) => a - b);
    const before = answered.filter((q) => !overlaps(q, 50)).map((q) => q.us).sort((a, b) => a - b);
    return {
      before: { n: before.length, p99: quantile(before, 0.99) },
      during: { n: during.length, p99: quantile(during, 0.99), max: during.at(-1) ?? Number.NaN },
      postsMs: windows.map((w) => w.end - w.start),
      slowestPerPost: windows.map((w) => Math.max(...answered.filter((q) => q.sent <= w.end && q.sent + q.us / 1000 >= w.start).map((q) => q.us))),
      lost: sent - answered.length,
    };
  } finally {
    clearInterval(ticker);
    socket.close();
    rmSync(dir, { recursive: true, force: true });
    await sidecar.stop('SIGTERM', 3000);
  }
}

/** The name of the bare Node relay in the rows: the floor the QPS target is a fraction of. */
const RELAY = 'node relay (floor)';
/** Unit of the latency rows (and of the benchmark); the QPS row gives its own. */
const US = 'µs';

/**
 * The figures as benchmark rows, each with its unit: the egress sidecar is `ours`; latency ratios are to
 * direct, QPS ratios to the bare relay, whose QPS in the same run the target is a fraction of (dnsmasq
 * beside it as a peer).
 */
function tableRows(rows: readonly Row[], apply: ApplyFigures): TableRow[] {
  const by = (name: string) => rows.find((r) => r.name === name) as Row;
  const [direct, proxy, dnsmasq, relay] = [by('direct'), by('proxy'), by('dnsmasq'), by('relay')];
  const peers = (pick: (r: Row) => number) => [
    { name: 'direct', value: pick(direct) },
    { name: 'ours', value: pick(proxy) },
    { name: 'dnsmasq', value: pick(dnsmasq) },
    { name: RELAY, value: pick(relay) },
  ];
  return [
    { case: 'p50, 1 in flight', unit: US, figures: peers((r) => r.latency.p50us), ratioTo: 'direct' },
    { case: 'p99, 1 in flight', unit: US, figures: peers((r) => r.latency.p99us), ratioTo: 'direct' },
    {
      case: 'p50 added over direct (median of per-round differences)',
      unit: US,
      figures: [
        { name: 'ours', value: addedP50(proxy, direct) },
        { name: 'dnsmasq', value: addedP50(dnsmasq, direct) },
        { name: RELAY, value: addedP50(relay, direct) },
      ],
      target: { value: 40 },
    },
    { case: `QPS, ${WINDOW} in flight`, unit: 'queries/s', higherIsBetter: true, figures: peers((r) => r.load.qps), ratioTo: RELAY, target: { of: RELAY, factor: 0.95 } },
    {
      case: `CPU per query, ${WINDOW} in flight (user + system of the forwarding process, all its throughput passes)`,
      unit: US,
      figures: [
        { name: 'ours', value: proxy.cpuUsPerQuery as number },
        { name: 'dnsmasq', value: dnsmasq.cpuUsPerQuery as number },
        { name: RELAY, value: relay.cpuUsPerQuery as number },
      ],
      ratioTo: RELAY,
    },
    { case: `p99 at ${APPLY_RATE} q/s, no policy apply in flight`, unit: US, figures: [{ name: 'ours', value: apply.before.p99 }] },
    { case: `p99 at ${APPLY_RATE} q/s, in flight during a ${APPLY_RULES}-rule POST /policy`, unit: US, figures: [{ name: 'ours', value: apply.during.p99 }] },
    { case: `p99 added by applying a ${APPLY_RULES}-rule policy (during − before)`, unit: US, figures: [{ name: 'ours', value: apply.during.p99 - apply.before.p99 }], target: { value: 10_000 } },
    { case: `slowest answer during a ${APPLY_RULES}-rule POST /policy (median of the POSTs)`, unit: US, figures: [{ name: 'ours', value: median(apply.slowestPerPost) }] },
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
      { name: 'proxy', port: proxy.port, pid: proxy.process.pid },
      { name: 'dnsmasq', port: forwarder.port, pid: forwarder.process.pid },
      { name: 'relay', port: relay.port, pid: relay.process.pid },
    ]);
    console.log(`\napply pass: ${APPLY_ROUNDS} POSTs of a ${APPLY_RULES}-rule policy, ${APPLY_GAP_MS} ms apart, queries at ${APPLY_RATE}/s`);
    const apply = await measureApply(upstream.port);
    reportBenchmark('dns', 'DNS on loopback: egress sidecar (ours) vs dnsmasq forwarder vs a bare Node relay vs direct', US, tableRows(rows, apply));
    console.log(`\nQPS per round (${WINDOW} in flight): ${rows.map((r) => `${r.name} ${r.rounds.join(' / ')}`).join('; ')}`);
    console.log(`ours / relay QPS per round: ${proxyOverRelay(rows).map((x) => x.toFixed(2)).join(' / ')}`);
    console.log(`p50 per round (1 in flight, µs): ${rows.map((r) => `${r.name} ${r.p50s.map((x) => x.toFixed(0)).join(' / ')}`).join('; ')}`);
    console.log(`under load: ${rows.map((r) => `${r.name} p50 ${r.load.p50us.toFixed(0)} µs p99 ${r.load.p99us.toFixed(0)} µs, lost ${r.latency.lost + r.load.lost}`).join('; ')}`);
    console.log(`policy apply: POSTs took ${apply.postsMs.map((ms) => ms.toFixed(0)).join(' / ')} ms; slowest answer during each ${apply.slowestPerPost.map((us) => (us / 1000).toFixed(1)).join(' / ')} ms (all: ${(apply.during.max / 1000).toFixed(1)} ms); ${apply.during.n} answers during them, ${apply.before.n} clear of them; ${apply.lost} queries unanswered`);
  } finally {
    await stopAllProcesses(3_000);
  }
}

await runBench('bench:dns', main);
