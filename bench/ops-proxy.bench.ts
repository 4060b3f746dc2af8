/**
 * `npm run bench:ops-proxy`: the ops proxy's tunnel against direct access to the backend and against
 * HAProxy (Debian package, one-hop reverse proxy), on loopback, in one run:
 *
 *   direct   client → backend
 *   tunnel   client → listening peer → DATA connection → connecting peer → backend (two child processes)
 *   haproxy  client → haproxy (mode http for HTTP with keep-alive to the server, mode tcp for bulk) → backend
 *   floor    client → hop → hop → backend: the tunnel's topology (two processes, three TCP connections per
 *            public connection) as a bare `net` splice (`pipe` both ways), no routing, no metrics: what
 *            the topology itself costs on this machine (two more processes on the path, on 2 cores).
 *
 * Figures: HTTP keep-alive requests/s (CONNS connections, REQUESTS requests in all); p50/p99 of a new
 * connection's request (connect, GET with Connection: close, read to the close; for the tunnel this
 * includes FORWARD + DATA), and the added latency over direct; bulk throughput of one BULK_BYTES
 * transfer (backend writes, client reads to the end), and the CPU it costs the proxy: user + system seconds
 * (utime + stime of /proc/PID/stat, every process of the path's process groups: the tunnel's two peers, the
 * floor's two hops, haproxy's process) per GB (10^9 bytes) moved, read before and after each transfer.
 * Bounded: a fixed count and a time cap per pass.
 * Targets: keep-alive ≥ 0.5x direct; added new-connection p50 ≤ 1 ms; bulk ≥ 0.9x the floor (the topology's
 * own cost, measured in the same run). ROUNDS rounds,
 * each running every path in turn (interleaved, so load from elsewhere hits all alike); each figure is
 * the median over the rounds. After the table: the medians of the per-round ratios, and the tunnel's to the floor. The figures go
 * to bench/results/ops-proxy.json and ops-proxy.svg (`reportBenchmark`; the tunnel is `ours`, ratios are to
 * direct), and from there to the README (`bench/readme.ts`).
 *
 * Env: OPS_BENCH_REQUESTS (default 20000), OPS_BENCH_CONNS (16), OPS_BENCH_NEWCONN (1000),
 * OPS_BENCH_BULK_BYTES (1073741824), OPS_BENCH_CAP_MS (20000 per pass), OPS_BENCH_ROUNDS (5),
 * OPS_BENCH_CPU_PROF (a directory: the two peers run with `--cpu-prof` and write their profiles there on exit).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/ports.ts';
import { findProgram, NODE_BIN, REPO_ROOT, startNode, startProcess, stopAllProcesses, type TestProcess } from '../test/processes.ts';
import { pollUntil } from '../test/poll.ts';
import { groupCpuSeconds } from '../e2e/support/process-usage.ts';
import { reportBenchmark } from './support/results.ts';
import type { Row as TableRow } from './support/table.ts';
import { runBench } from './support/run-bench.ts';

const REQUESTS = Number(process.env.OPS_BENCH_REQUESTS ?? 20_000);
const CONNS = Number(process.env.OPS_BENCH_CONNS ?? 16);
const NEWCONN = Number(process.env.OPS_BENCH_NEWCONN ?? 1000);
const BULK_BYTES = Number(process.env.OPS_BENCH_BULK_BYTES ?? 1024 ** 3);
const CAP_MS = Number(process.env.OPS_BENCH_CAP_MS ?? 20_000);
const ROUNDS = Math.max(1, Number(process.env.OPS_BENCH_ROUNDS ?? 5));
const CPU_PROF = process.env.OPS_BENCH_CPU_PROF;
const TOKEN = 'bench-token';
const MAIN = join(REPO_ROOT, 'components', 'ops-proxy', 'main.ts');
/** The two peers, for their logs when a pass fails. */
const tunnelProcs: TestProcess[] = [];
let tunnelMetrics = '';

/** The backend as its own process: HTTP (keep-alive, 13-byte body) and a bulk TCP source. */
const BACKEND = `
const http = require('node:http'), net = require('node:net');
const [httpPort, bulkPort, bulkBytes] = process.argv.slice(1).map(Number);
const s = http.createServer((q, r) => { r.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 13 }); r.end('hello, world\\n'); });
s.keepAliveTimeout = 60000;
s.listen(httpPort, '127.0.0.1');
const chunk = Buffer.alloc(256 * 1024, 120);
net.createServer((c) => {
  c.on('error', () => {});
  let left = bulkBytes;
  const pump = () => { while (left > 0) { const n = Math.min(left, chunk.length); left -= n; if (!c.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return c.once('drain', pump); } c.end(); };
  pump();
}).listen(bulkPort, '127.0.0.1');
`;

/** One hop of the floor as its own process: each `LISTEN:TARGET` argument pipes 127.0.0.1:LISTEN to 127.0.0.1:TARGET. */
const HOP = `
const net = require('node:net');
for (const pair of process.argv.slice(1)) {
  const [from, to] = pair.split(':').map(Number);
  net.createServer({ noDelay: true, allowHalfOpen: true }, (a) => {
    const b = net.connect({ port: to, host: '127.0.0.1', noDelay: true, allowHalfOpen: true });
    for (const [x, y] of [[a, b], [b, a]]) {
      x.pipe(y);
      x.on('error', () => y.destroy());
      x.on('close', () => y.end());
    }
  }).listen(from, '127.0.0.1');
}
`;

interface Path {
  readonly name: string;
  readonly http: number;
  /** Host header to send. */
  readonly host: string;
  readonly bulk: number;
  /** Process groups of the processes on the path (each started in its own group); empty for direct. */
  readonly groups: readonly number[];
  /** A name for each of `groups`, for the per-process CPU line. */
  readonly groupNames: readonly string[];
}

interface Row {
  readonly name: string;
  readonly rps: number;
  readonly p50us: number;
  readonly p99us: number;
  readonly bulkMiBs: number;
  readonly bulkOk: boolean;
  /** User + system CPU seconds of the path's processes per GB (10^9 bytes) moved in the bulk transfer; NaN for direct. */
  readonly cpuPerGB: number;
  /** `cpuPerGB` split by process group, in the order of the path's `groups`. */
  readonly cpuPerGBByGroup: readonly number[];
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
}

/** Keep-alive load: CONNS raw connections, one request in flight each, REQUESTS in all (or the cap). */
async function keepAlive(p: Path): Promise<number> {
  const request = Buffer.from(`GET / HTTP/1.1\r\nHost: ${p.host}\r\n\r\n`);
  let sent = 0;
  let done = 0;
  let closedEarly = 0;
  const deadline = performance.now() + CAP_MS;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNS }, () =>
      new Promise<void>((resolve, reject) => {
        const s = connect({ port: p.http, host: '127.0.0.1', noDelay: true });
        let buf = '';
        const next = () => {
          if (sent >= REQUESTS || performance.now() > deadline) {
            s.destroy();
            return resolve();
          }
          sent++;
          s.write(request);
        };
        s.on('connect', next);
        s.on('error', reject);
        // Closed by the other side (a 502, an idle close): this connection is done.
        s.on('close', () => {
          if (sent < REQUESTS && performance.now() <= deadline) closedEarly++;
          resolve();
        });
        s.on('data', (c: Buffer) => {
          buf += c.toString('latin1');
          // Responses are fixed-size: head + 13-byte body.
          let end: number;
          while ((end = buf.indexOf('\r\n\r\n')) !== -1 && buf.length >= end + 4 + 13) {
            buf = buf.slice(end + 4 + 13);
            done++;
            next();
          }
        });
      }),
    ),
  );
  if (closedEarly > 0) console.error(`${p.name}: ${closedEarly} keep-alive connection(s) closed by the other side before the end`);
  return done / ((performance.now() - t0) / 1000);
}

/** One new connection: connect, GET with Connection: close, read to the close; µs. */
function oneConnection(p: Path): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s: Socket = connect({ port: p.http, host: '127.0.0.1', noDelay: true });
    let got = 0;
    let head = '';
    const timer = setTimeout(() => s.destroy(new Error('new connection: no answer in 5 s')), 5000);
    s.on('connect', () => s.write(`GET / HTTP/1.1\r\nHost: ${p.host}\r\nConnection: close\r\n\r\n`));
    s.on('data', (c: Buffer) => {
      if (got === 0) head = c.subarray(0, 12).toString('latin1');
      got += c.length;
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (head === 'HTTP/1.1 200') resolve((performance.now() - t0) * 1000);
      else reject(new Error(`new connection: ${got > 0 ? `answered ${head}` : 'closed without an answer'}`));
    });
  });
}

async function newConnections(p: Path): Promise<{ p50us: number; p99us: number }> {
  const samples: number[] = [];
  const deadline = performance.now() + CAP_MS;
  for (let i = 0; i < NEWCONN && performance.now() < deadline; i++) samples.push(await oneConnection(p));
  samples.sort((a, b) => a - b);
  return { p50us: quantile(samples, 0.5), p99us: quantile(samples, 0.99) };
}

/**
 * One bulk transfer of BULK_BYTES: MiB/s, whether every byte arrived, and the CPU seconds per GB moved of the
 * path's processes (NaN for a path without any).
 */
function bulk(p: Path): Promise<{ mibs: number; ok: boolean; cpuPerGB: number; cpuPerGBByGroup: number[] }> {
  return new Promise((resolve) => {
    const cpu0 = groupCpuSeconds(p.groups);
    const t0 = performance.now();
    let got = 0;
    const s = connect({ port: p.bulk, host: '127.0.0.1' });
    const timer = setTimeout(() => s.destroy(), CAP_MS * 3);
    s.on('data', (c: Buffer) => (got += c.length));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      const gb = got / 1e9;
      const byGroup = groupCpuSeconds(p.groups).map((c, i) => (c - (cpu0[i] as number)) / gb);
      const cpuPerGB = p.groups.length && got > 0 ? byGroup.reduce((a, b) => a + b, 0) : Number.NaN;
      resolve({ mibs: got / 1024 ** 2 / seconds, ok: got === BULK_BYTES, cpuPerGB, cpuPerGBByGroup: byGroup });
    });
  });
}

async function waitPort(port: number, what: string): Promise<void> {
  await pollUntil(what, () => new Promise<boolean>((r) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); r(true); });
    s.on('error', () => r(false));
  }), (ok) => ok, { timeoutMs: 20_000, intervalMs: 100 });
}

async function startTunnel(backendHttp: number, backendBulk: number): Promise<Path> {
  const [control, http, tcp, m1, m2] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const env = { PATH: process.env.PATH, OPS_PROXY_TOKEN: TOKEN, OTEL_CONTRACTS_LOG_LEVEL: 'warn' };
  tunnelMetrics = `http://127.0.0.1:${m1}/metrics`;
  const prof = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [];
  const listener = startNode('ops-proxy listener', [...prof, MAIN, '--control', `127.0.0.1:${control}`, '--http', `127.0.0.1:${http}`, '--tcp', `bulk=127.0.0.1:${tcp}`, '--metrics', `127.0.0.1:${m1}`], env);
  tunnelProcs.push(listener);
  await waitPort(http, 'the listening peer');
  const connector: TestProcess = startNode('ops-proxy connector', [...prof, MAIN, '--connect', `127.0.0.1:${control}`, '--register', `app.bench=127.0.0.1:${backendHttp}`, '--register', `bulk=127.0.0.1:${backendBulk}`, '--metrics', `127.0.0.1:${m2}`], env);
  const path: Path = { name: 'tunnel', http, host: 'app.bench', bulk: tcp, groups: [listener.pid, connector.pid], groupNames: ['listener', 'connector'] };
  // Registered once a request goes through.
  await pollUntil('the tunnel carries a request', () => oneConnection(path).then(() => true, () => false), (ok) => ok, { timeoutMs: 20_000, intervalMs: 200 });
  tunnelProcs.push(connector);
  return path;
}

/** The floor: two bare splice hops in a row, each its own process. */
async function startFloor(backendHttp: number, backendBulk: number): Promise<Path> {
  const [http1, bulk1, http2, bulk2] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const hop2 = startProcess('floor hop 2', NODE_BIN, ['-e', HOP, `${http2}:${backendHttp}`, `${bulk2}:${backendBulk}`]);
  const hop1 = startProcess('floor hop 1', NODE_BIN, ['-e', HOP, `${http1}:${http2}`, `${bulk1}:${bulk2}`]);
  await Promise.all([waitPort(http2, 'floor hop 2'), waitPort(http1, 'floor hop 1')]);
  return { name: 'floor', http: http1, host: 'app.bench', bulk: bulk1, groups: [hop1.pid, hop2.pid], groupNames: ['hop 1', 'hop 2'] };
}

async function startHaproxy(backendHttp: number, backendBulk: number, dir: string): Promise<Path | undefined> {
  const bin = findProgram('haproxy');
  if (!bin) return undefined;
  const [http, tcp] = await Promise.all([freePort(), freePort()]);
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, `global
  maxconn 4096
defaults
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend web
  mode http
  option http-keep-alive
  bind 127.0.0.1:${http}
  default_backend app
backend app
  mode http
  http-reuse always
  server s1 127.0.0.1:${backendHttp}
frontend bulk
  mode tcp
  bind 127.0.0.1:${tcp}
  default_backend bulkb
backend bulkb
  mode tcp
  server s1 127.0.0.1:${backendBulk}
`);
  // -db: in the foreground, one process (its threads are counted in its /proc/PID/stat).
  const proc = startProcess('haproxy', bin, ['-db', '-f', cfg]);
  await waitPort(http, 'haproxy');
  return { name: 'haproxy', http, host: 'app.bench', bulk: tcp, groups: [proc.pid], groupNames: ['haproxy'] };
}

function median(xs: readonly number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

/** One path's rounds as one row: the median of each figure; the bulk is complete only when every round's was. */
function medianRow(name: string, rs: readonly Row[]): Row {
  return { name, rps: median(rs.map((r) => r.rps)), p50us: median(rs.map((r) => r.p50us)), p99us: median(rs.map((r) => r.p99us)), bulkMiBs: median(rs.map((r) => r.bulkMiBs)), bulkOk: rs.every((r) => r.bulkOk), cpuPerGB: median(rs.map((r) => r.cpuPerGB)), cpuPerGBByGroup: (rs[0]?.cpuPerGBByGroup ?? []).map((_, i) => median(rs.map((r) => r.cpuPerGBByGroup[i] as number))) };
}

/** The figures as benchmark rows: the tunnel is `ours`, ratios are to direct (CPU per GB: to the floor). */
function tableRows(rows: readonly Row[]): TableRow[] {
  const name = (r: Row) => (r.name === 'tunnel' ? 'ours' : r.name);
  const peers = (pick: (r: Row) => number) => rows.map((r) => ({ name: name(r), value: pick(r) }));
  const direct = rows[0] as Row;
  const incomplete = rows.filter((r) => !r.bulkOk).map(name);
  return [
    { case: `keep-alive, ${CONNS} connections`, unit: 'req/s', higherIsBetter: true, ratioTo: 'direct', figures: peers((r) => r.rps), target: { of: 'direct', factor: 0.5 } },
    { case: 'new connection p50', unit: 'ms', ratioTo: 'direct', figures: peers((r) => r.p50us / 1000) },
    { case: 'new connection p99', unit: 'ms', ratioTo: 'direct', figures: peers((r) => r.p99us / 1000) },
    { case: 'new connection p50 added', unit: 'ms', figures: rows.slice(1).map((r) => ({ name: name(r), value: (r.p50us - direct.p50us) / 1000 })), target: { value: 1 } },
    {
      case: `bulk, one ${(BULK_BYTES / 1024 ** 2).toFixed(0)} MiB transfer${incomplete.length ? ` (INCOMPLETE: ${incomplete.join(', ')})` : ''}`,
      unit: 'MiB/s',
      higherIsBetter: true,
      ratioTo: 'direct',
      figures: peers((r) => r.bulkMiBs),
      target: { of: 'floor', factor: 0.9 },
    },
    { case: 'bulk CPU per GB (proxy processes, user+system)', unit: 's/GB', ratioTo: 'floor', figures: rows.slice(1).map((r) => ({ name: name(r), value: r.cpuPerGB })) },
  ];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ops-proxy-bench-'));
  try {
    const [backendHttp, backendBulk] = await Promise.all([freePort(), freePort()]);
    startProcess('backend', NODE_BIN, ['-e', BACKEND, String(backendHttp), String(backendBulk), String(BULK_BYTES)]);
    await waitPort(backendHttp, 'the backend');
    const paths: Path[] = [{ name: 'direct', http: backendHttp, host: 'app.bench', bulk: backendBulk, groups: [], groupNames: [] }, await startTunnel(backendHttp, backendBulk)];
    paths.push(await startFloor(backendHttp, backendBulk));
    const haproxy = await startHaproxy(backendHttp, backendBulk, dir);
    if (haproxy) paths.push(haproxy);
    else console.log('haproxy not installed (apt-get install -y haproxy): its row is left out');

    // Warm-up: JIT and socket buffers.
    for (const p of paths) {
      await keepAlive({ ...p });
      for (let i = 0; i < 100; i++) await oneConnection(p);
    }
    const rounds = new Map<string, Row[]>(paths.map((p) => [p.name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const p of paths) {
        const rps = await keepAlive(p);
        const lat = await newConnections(p);
        const b = await bulk(p);
        rounds.get(p.name)?.push({ name: p.name, rps, p50us: lat.p50us, p99us: lat.p99us, bulkMiBs: b.mibs, bulkOk: b.ok, cpuPerGB: b.cpuPerGB, cpuPerGBByGroup: b.cpuPerGBByGroup });
      }
    }
    const rows = paths.map((p) => medianRow(p.name, rounds.get(p.name) ?? []));
    if (!rows[1]?.bulkOk) {
      for (const t of tunnelProcs) console.error(t.describe());
      const text = await (await fetch(tunnelMetrics)).text();
      console.error(text.split('\n').filter((l) => /errors|timeout_total|bytes_rx|matched|unexpected/.test(l) && !l.startsWith('#')).join('\n'));
    }
    console.log(`\nops proxy on loopback: ${REQUESTS} keep-alive requests over ${CONNS} connections, ${NEWCONN} new connections, one ${(BULK_BYTES / 1024 ** 2).toFixed(0)} MiB transfer`);
    reportBenchmark('ops-proxy', 'Ops proxy on loopback: tunnel (ours) vs HAProxy vs bare two-hop splice (floor) vs direct', 'ms', tableRows(rows));
    // Ratios taken within each round, then their median: steadier than ratios of medians when the
    // machine's speed changes during the run.
    const perRound = (of: string, to: string, pick: (r: Row) => number) => {
      const a = rounds.get(of) ?? [];
      const b = rounds.get(to) ?? [];
      return `x${median(a.map((r, i) => pick(r) / pick(b[i] as Row))).toFixed(2)}`;
    };
    const others = paths.slice(1).map((p) => p.name);
    console.log(`per-round ratios (median): keep-alive / direct: ${others.map((n) => `${n} ${perRound(n, 'direct', (r) => r.rps)}`).join(', ')}; bulk / direct: ${others.map((n) => `${n} ${perRound(n, 'direct', (r) => r.bulkMiBs)}`).join(', ')}`);
    if (rounds.has('floor')) {
      console.log(`tunnel / floor: keep-alive ${perRound('tunnel', 'floor', (r) => r.rps)}, new connection p50 ${perRound('tunnel', 'floor', (r) => r.p50us)}, bulk ${perRound('tunnel', 'floor', (r) => r.bulkMiBs)}, bulk CPU per GB ${perRound('tunnel', 'floor', (r) => r.cpuPerGB)}`);
      console.log(`bulk CPU per GB / floor: ${others.filter((n) => n !== 'floor').map((n) => `${n} ${perRound(n, 'floor', (r) => r.cpuPerGB)}`).join(', ')}`);
    }
    const byProcess = paths.slice(1).map((p, i) => `${p.name} ${p.groupNames.map((g, j) => `${g} ${(rows[i + 1]?.cpuPerGBByGroup[j] ?? Number.NaN).toFixed(2)}`).join(' + ')}`);
    console.log(`bulk CPU s/GB by process (medians): ${byProcess.join('; ')}`);
    console.log(`medians of ${ROUNDS} interleaved rounds; each round, keep-alive req/s | bulk MiB/s | bulk CPU s/GB:`);
    for (const p of paths) {
      const rs = rounds.get(p.name) ?? [];
      console.log(`  ${p.name.padEnd(8)} ${rs.map((r) => r.rps.toFixed(0)).join(' ')} | ${rs.map((r) => r.bulkMiBs.toFixed(0)).join(' ')} | ${rs.map((r) => (Number.isNaN(r.cpuPerGB) ? '-' : r.cpuPerGB.toFixed(2))).join(' ')}`);
    }
  } finally {
    await stopAllProcesses(3_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

await runBench('bench:ops-proxy', main);
