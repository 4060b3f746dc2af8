/**
 * `npm run bench:edge`: the trc edge (the L4 ingress) against HAProxy configured the same way (TCP mode, an SNI
 * map on `req.ssl_sni`, `send-proxy-v2` to every server), a direct connection to the backend, and the
 * floor: a bare Node `net` pipe doing the same work without parsing anything (wait for the first chunk,
 * connect, write a fixed PROXY v2 header and the chunk, `pipe` both ways; no SNI, no routes, no metrics).
 * All on loopback, in one run, interleaved in rounds so load from elsewhere hits every path alike:
 *
 *   direct   client → backend
 *   ours     client → trc edge (SNI route, proxy_v2: true) → backend
 *   haproxy  client → haproxy (mode tcp, SNI map, send-proxy-v2) → backend
 *   floor    client → bare Node pipe (one port per backend, fixed header) → backend
 *
 * The backend is one process: a TLS server (strips a PROXY v2 header when there is one, then answers
 * `hello` right after the handshake and closes), a bulk source and an idle sink (both read a ClientHello
 * record after the optional header, then stream BULK_BYTES, or answer one byte and stay open).
 *
 * Figures (with their targets, where they have one):
 * - new TLS connections/s with NEWCONN_CLIENTS clients (handshake, first byte, close): ours ≥ 0.5x HAProxy;
 * - time to the first byte of the backend's answer on a new TLS connection (TTFB_CONNS one at a time),
 *   p50 and p99, and the time each path adds over direct: ours ≤ 2x HAProxy's added time;
 * - bulk throughput of one connection (BULK_BYTES, backend → client): ours ≥ 0.6x HAProxy;
 * - memory per 1000 idle established connections (the proxy's RSS growth over IDLE_CONNS more, after a
 *   first IDLE_CONNS / 4), beside HAProxy's, measured first, on fresh processes;
 * - memory over a CHURN-connection run (connect, route, first byte, close; CHURN_CONCURRENCY at a time)
 *   through an edge started in this process: its JS heap after a full collection at 10 % and at the end
 *   (flat means no per-connection leak), with the RSS beside it.
 * Each figure is the median over ROUNDS rounds; ratios are to HAProxy. Results go to bench/results/edge.json
 * and edge.svg (`reportBenchmark`). Every loop is bounded in count and time (CAP_MS per pass).
 *
 * Env: EDGE_BENCH_ROUNDS (3), EDGE_BENCH_NEWCONN_CLIENTS (8), EDGE_BENCH_NEWCONN (3000 per pass),
 * EDGE_BENCH_TTFB_CONNS (1000), EDGE_BENCH_BULK_BYTES (536870912), EDGE_BENCH_IDLE_CONNS (2000),
 * EDGE_BENCH_CHURN (100000), EDGE_BENCH_CHURN_CONCURRENCY (64), EDGE_BENCH_CAP_MS (10000 per pass).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { stringify } from 'yaml';
import { selfSignedCert } from '../components/ops-proxy/testing/backends.ts';
import { runTrcEdge } from '../components/trc-edge/main.ts';
import { captureClientHello } from '../components/trc-edge/testing/clients.ts';
import { createLogger } from '../instrumentation/logger.ts';
import { pollUntil } from '../test/poll.ts';
import { freePort } from '../test/ports.ts';
import { findProgram, NODE_BIN, REPO_ROOT, startNode, startProcess, stopAllProcesses, type TestProcess } from '../test/processes.ts';
import { reportBenchmark } from './support/results.ts';
import { runBench } from './support/run-bench.ts';
import type { Row as TableRow } from './support/table.ts';

const env = process.env;
const ROUNDS = Math.max(1, Number(env.EDGE_BENCH_ROUNDS ?? 3));
const NEWCONN_CLIENTS = Number(env.EDGE_BENCH_NEWCONN_CLIENTS ?? 8);
const NEWCONN = Number(env.EDGE_BENCH_NEWCONN ?? 3000);
const TTFB_CONNS = Number(env.EDGE_BENCH_TTFB_CONNS ?? 1000);
const BULK_BYTES = Number(env.EDGE_BENCH_BULK_BYTES ?? 512 * 1024 ** 2);
const IDLE_CONNS = Number(env.EDGE_BENCH_IDLE_CONNS ?? 2000);
const CHURN = Number(env.EDGE_BENCH_CHURN ?? 100_000);
const CHURN_CONCURRENCY = Number(env.EDGE_BENCH_CHURN_CONCURRENCY ?? 64);
const CAP_MS = Number(env.EDGE_BENCH_CAP_MS ?? 10_000);
const EDGE_MAIN = join(REPO_ROOT, 'components', 'trc-edge', 'main.ts');

/** The backend: TLS answer, bulk source, idle sink; each strips an optional PROXY v2 header. */
const BACKEND = `
const net = require('node:net'), tls = require('node:tls'), fs = require('node:fs'), { Duplex } = require('node:stream');
const [tlsPort, bulkPort, idlePort, bulkBytes] = process.argv.slice(1, 5).map(Number);
const ctx = tls.createSecureContext({ key: fs.readFileSync(process.argv[5]), cert: fs.readFileSync(process.argv[6]) });
const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
function afterHeader(s, done) {
  let buf = Buffer.alloc(0);
  const onData = (c) => {
    buf = buf.length ? Buffer.concat([buf, c]) : c;
    const n = Math.min(buf.length, 12);
    if (buf.subarray(0, n).equals(SIG.subarray(0, n))) {
      if (buf.length < 16 || buf.length < 16 + buf.readUInt16BE(14)) return;
      buf = buf.subarray(16 + buf.readUInt16BE(14));
    }
    s.off('data', onData);
    done(buf);
  };
  s.on('data', onData);
  s.on('error', () => {});
}
function afterHello(s, done) {
  afterHeader(s, (first) => {
    let buf = first;
    const check = () => { if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) { s.off('data', more); done(); } };
    const more = (c) => { buf = Buffer.concat([buf, c]); check(); };
    s.on('data', more);
    check();
  });
}
net.createServer({ noDelay: true }, (s) => afterHeader(s, (first) => {
  const d = new Duplex({ read() { s.resume(); }, write(c, e, cb) { s.write(c, cb); }, final(cb) { s.end(); cb(); }, destroy(e, cb) { s.destroy(); cb(e); } });
  if (first.length) d.push(first);
  s.on('data', (c) => { if (!d.push(c)) s.pause(); });
  s.on('end', () => d.push(null));
  s.on('close', () => d.destroy());
  const t = new tls.TLSSocket(d, { isServer: true, secureContext: ctx });
  t.on('error', () => {});
  t.once('secure', () => t.end('hello\\n'));
})).listen(tlsPort, '127.0.0.1');
const chunk = Buffer.alloc(256 * 1024, 120);
net.createServer({ noDelay: true }, (s) => afterHello(s, () => {
  let left = bulkBytes;
  const pump = () => { while (left > 0) { const n = Math.min(left, chunk.length); left -= n; if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return s.once('drain', pump); } s.end(); };
  pump();
})).listen(bulkPort, '127.0.0.1');
net.createServer({ noDelay: true }, (s) => afterHello(s, () => { s.write('k'); s.resume(); })).listen(idlePort, '127.0.0.1');
`;

/** The floor: for each LISTEN:TARGET, wait for the first chunk, connect, write a fixed PROXY v2 header and the chunk, pipe. */
const FLOOR = `
const net = require('node:net');
const header = Buffer.from('0d0a0d0a000d0a515549540a2111000c7f0000017f00000100000000', 'hex');
for (const pair of process.argv.slice(1)) {
  const [from, to] = pair.split(':').map(Number);
  net.createServer({ noDelay: true, allowHalfOpen: true }, (a) => {
    a.on('error', () => {});
    a.once('data', (first) => {
      a.pause();
      const b = net.connect({ port: to, host: '127.0.0.1', noDelay: true, allowHalfOpen: true }, () => {
        b.write(Buffer.concat([header, first]));
        a.pipe(b);
        b.pipe(a);
      });
      b.on('error', () => a.destroy());
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
      b.on('close', () => a.destroy());
    });
  }).listen(from, '127.0.0.1');
}
`;

/** Where a path takes each workload (the floor has one port per backend, the others route by SNI). */
interface Path {
  readonly name: 'direct' | 'ours' | 'haproxy' | 'floor';
  readonly tls: number;
  readonly bulk: number;
  readonly idle: number;
  /** The process whose memory is measured (none for direct). */
  readonly pid?: number;
}

/** One round's figures of one path. */
interface Figures {
  readonly connPerS: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly bulkMiBs: number;
  readonly bulkOk: boolean;
}

const quantile = (sorted: readonly number[], q: number) => (sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number));
const median = (xs: readonly number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);

/** One new TLS connection: handshake, first byte of the answer, close. Milliseconds to the first byte. */
function tlsFirstByte(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = tlsConnect({ port, host: '127.0.0.1', servername: 'app.bench', rejectUnauthorized: false });
    const timer = setTimeout(() => s.destroy(new Error('no answer in 5 s')), 5000);
    s.once('data', () => {
      const ms = performance.now() - t0;
      clearTimeout(timer);
      s.destroy();
      resolve(ms);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** NEWCONN_CLIENTS clients opening TLS connections back to back, NEWCONN in all or CAP_MS; connections/s. */
async function newConnections(p: Path): Promise<number> {
  let started = 0;
  let done = 0;
  const deadline = performance.now() + CAP_MS;
  const t0 = performance.now();
  const client = async () => {
    while (started < NEWCONN && performance.now() < deadline) {
      started++;
      await tlsFirstByte(p.tls);
      done++;
    }
  };
  await Promise.all(Array.from({ length: NEWCONN_CLIENTS }, client));
  return done / ((performance.now() - t0) / 1000);
}

/** TTFB_CONNS new TLS connections one at a time: p50 and p99 of the time to the first byte, ms. */
async function firstBytes(p: Path): Promise<{ p50ms: number; p99ms: number }> {
  const xs: number[] = [];
  const deadline = performance.now() + CAP_MS;
  for (let i = 0; i < TTFB_CONNS && performance.now() < deadline; i++) xs.push(await tlsFirstByte(p.tls));
  xs.sort((a, b) => a - b);
  return { p50ms: quantile(xs, 0.5), p99ms: quantile(xs, 0.99) };
}

/** One BULK_BYTES transfer through `p` (a ClientHello for bulk.bench first); MiB/s and whether every byte came. */
function bulk(p: Path, hello: Buffer): Promise<{ mibs: number; ok: boolean }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let got = 0;
    const s = connect({ port: p.bulk, host: '127.0.0.1' });
    const timer = setTimeout(() => s.destroy(), CAP_MS * 3);
    s.on('connect', () => s.write(hello));
    s.on('data', (c: Buffer) => (got += c.length));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ mibs: got / 1024 ** 2 / ((performance.now() - t0) / 1000), ok: got === BULK_BYTES });
    });
  });
}

/** Opens a connection to the idle sink through `port` and resolves once it is established end to end (the sink's byte). */
function openIdle(port: number, hello: Buffer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => s.destroy(new Error('idle connection: no byte in 10 s')), 10_000);
    s.on('connect', () => s.write(hello));
    s.once('data', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Resident memory of `pid` in MiB (VmRSS). */
function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

/** Opens `n` idle connections through `p`, 100 at a time. */
async function openIdleMany(p: Path, hello: Buffer, n: number): Promise<Socket[]> {
  const open: Socket[] = [];
  for (let i = 0; i < n; i += 100) open.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => openIdle(p.idle, hello)))));
  return open;
}

/**
 * The proxy's RSS growth per 1000 idle established connections, MiB: IDLE_CONNS / 4 are opened first (the
 * process's heap and pools grow to their working size), then IDLE_CONNS more; the growth over the second
 * batch, per 1000.
 */
async function idleMemory(p: Path, hello: Buffer): Promise<number> {
  const pid = p.pid as number;
  const open: Socket[] = [];
  try {
    open.push(...(await openIdleMany(p, hello, Math.floor(IDLE_CONNS / 4))));
    const before = rssMiB(pid);
    open.push(...(await openIdleMany(p, hello, IDLE_CONNS)));
    return ((rssMiB(pid) - before) / IDLE_CONNS) * 1000;
  } finally {
    for (const s of open) s.destroy();
  }
}

/** A full garbage collection in this process (`--expose-gc` switched on at run time). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** JS heap in use after a full collection, MiB: what a leak would grow. */
async function heapAfterGc(): Promise<number> {
  await new Promise((r) => setTimeout(r, 200)); // let closes and timers run first
  for (let i = 0; i < 3; i++) collectGarbage();
  return process.memoryUsage().heapUsed / 1024 ** 2;
}

/**
 * CHURN connections (CHURN_CONCURRENCY at a time, bounded by 12 x CAP_MS) through an edge started in this
 * process (so its heap can be collected and read): the JS heap after a full collection, and the RSS,
 * at 10 % of the run and at its end.
 */
async function churn(idlePort: number, hello: Buffer, dir: string): Promise<Churned> {
  const routes = join(dir, 'churn-routes.yaml');
  writeFileSync(routes, stringify({ routes: [{ id: 'idle', sni: 'idle.bench', protocol_hint: 'tls', backends: [`127.0.0.1:${idlePort}`], proxy_v2: true }] }));
  const edgeEnv = { OTEL_CONTRACTS_LOG_LEVEL: 'warn' };
  const edge = await runTrcEdge(['--routes', routes, '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0'], edgeEnv, { logger: createLogger('trc-edge', edgeEnv) });
  const port = edge.listeners[0]?.address.port as number;
  let started = 0;
  let done = 0;
  const deadline = performance.now() + CAP_MS * 12;
  const run = async (until: number) => {
    const worker = async () => {
      while (started < until && performance.now() < deadline) {
        started++;
        (await openIdle(port, hello)).destroy();
        done++;
      }
    };
    await Promise.all(Array.from({ length: CHURN_CONCURRENCY }, worker));
    return { heap: await heapAfterGc(), rss: process.memoryUsage().rss / 1024 ** 2, done };
  };
  try {
    const first = await run(Math.floor(CHURN / 10));
    const last = await run(CHURN);
    return { first, last };
  } finally {
    await edge.close();
  }
}

/** What {@link churn} measured at 10 % and at the end: heap after GC and RSS in MiB, connections done. */
interface Churned {
  readonly first: { heap: number; rss: number; done: number };
  readonly last: { heap: number; rss: number; done: number };
}

async function waitPort(port: number, what: string): Promise<void> {
  await pollUntil(
    what,
    () =>
      new Promise<boolean>((r) => {
        const s = connect(port, '127.0.0.1');
        s.on('connect', () => {
          s.destroy();
          r(true);
        });
        s.on('error', () => r(false));
      }),
    (ok) => ok,
    { timeoutMs: 20_000, intervalMs: 100 },
  );
}

/** The backend process; its three ports. */
async function startBackend(dir: string): Promise<{ tls: number; bulk: number; idle: number }> {
  const pem = selfSignedCert(['app.bench']);
  writeFileSync(join(dir, 'key.pem'), pem.key);
  writeFileSync(join(dir, 'cert.pem'), pem.cert);
  const [tls, bulkPort, idle] = await Promise.all([freePort(), freePort(), freePort()]);
  startProcess('backend', NODE_BIN, ['-e', BACKEND, String(tls), String(bulkPort), String(idle), String(BULK_BYTES), join(dir, 'key.pem'), join(dir, 'cert.pem')]);
  await Promise.all([waitPort(tls, 'backend tls'), waitPort(bulkPort, 'backend bulk'), waitPort(idle, 'backend idle')]);
  return { tls, bulk: bulkPort, idle };
}

/** The trc edge with one TLS listener and three proxy_v2 routes. */
async function startOurs(b: { tls: number; bulk: number; idle: number }, dir: string): Promise<{ path: Path; proc: TestProcess; metrics: string }> {
  const [listen, metrics] = await Promise.all([freePort(), freePort()]);
  const routes = join(dir, 'routes.yaml');
  const route = (id: string, port: number) => ({ id, sni: `${id}.bench`, protocol_hint: 'tls', backends: [`127.0.0.1:${port}`], proxy_v2: true });
  writeFileSync(routes, stringify({ routes: [route('app', b.tls), route('bulk', b.bulk), route('idle', b.idle)], health: { interval_ms: 2000 } }));
  const proc = startNode('trc edge', [EDGE_MAIN, '--routes', routes, '--listen', `127.0.0.1:${listen}`, '--metrics', `127.0.0.1:${metrics}`], { PATH: env.PATH, OTEL_CONTRACTS_LOG_LEVEL: 'warn' });
  await waitPort(listen, 'the trc edge');
  return { path: { name: 'ours', tls: listen, bulk: listen, idle: listen, pid: proc.pid }, proc, metrics: `http://127.0.0.1:${metrics}/metrics` };
}

/** HAProxy in TCP mode: SNI map from the ClientHello, send-proxy-v2 to every server. Undefined when not installed. */
async function startHaproxy(b: { tls: number; bulk: number; idle: number }, dir: string): Promise<Path | undefined> {
  const bin = findProgram('haproxy');
  if (!bin) return undefined;
  const port = await freePort();
  writeFileSync(join(dir, 'sni.map'), 'app.bench app\nbulk.bench bulk\nidle.bench idle\n');
  const servers = (['app', 'bulk', 'idle'] as const).map((id) => `backend ${id}\n  server s1 127.0.0.1:${id === 'app' ? b.tls : b[id]} send-proxy-v2\n`).join('');
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    `global\n  maxconn 8000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n` +
      `frontend edge\n  bind 127.0.0.1:${port}\n  tcp-request inspect-delay 10s\n  tcp-request content accept if { req.ssl_hello_type 1 }\n` +
      `  use_backend %[req.ssl_sni,lower,map(${join(dir, 'sni.map')})]\n${servers}`,
  );
  const proc = startProcess('haproxy', bin, ['-db', '-f', join(dir, 'haproxy.cfg')]);
  await waitPort(port, 'haproxy');
  return { name: 'haproxy', tls: port, bulk: port, idle: port, pid: proc.pid };
}

/** The bare Node pipe, one port per backend. */
async function startFloor(b: { tls: number; bulk: number; idle: number }): Promise<Path> {
  const [tls, bulkPort, idle] = await Promise.all([freePort(), freePort(), freePort()]);
  const proc = startProcess('floor', NODE_BIN, ['-e', FLOOR, `${tls}:${b.tls}`, `${bulkPort}:${b.bulk}`, `${idle}:${b.idle}`]);
  await Promise.all([waitPort(tls, 'floor'), waitPort(bulkPort, 'floor'), waitPort(idle, 'floor')]);
  return { name: 'floor', tls, bulk: bulkPort, idle, pid: proc.pid };
}

/** Benchmark rows from the medians; ratios are to HAProxy. */
function tableRows(paths: readonly Path[], rounds: ReadonlyMap<string, Figures[]>, memory: ReadonlyMap<string, number>, churned: Churned): TableRow[] {
  const med = (name: string, pick: (f: Figures) => number) => median((rounds.get(name) ?? []).map(pick));
  const all = (pick: (f: Figures) => number) => paths.map((p) => ({ name: p.name, value: med(p.name, pick) }));
  const added = (pick: (f: Figures) => number) => paths.filter((p) => p.name !== 'direct').map((p) => ({ name: p.name, value: median((rounds.get(p.name) ?? []).map((f, i) => pick(f) - pick((rounds.get('direct') ?? [])[i] as Figures))) }));
  const incomplete = paths.filter((p) => !(rounds.get(p.name) ?? []).every((f) => f.bulkOk)).map((p) => p.name);
  const hap = rounds.has('haproxy');
  return [
    { case: `new TLS connections, ${NEWCONN_CLIENTS} clients`, unit: 'conn/s', higherIsBetter: true, ratioTo: 'haproxy', figures: all((f) => f.connPerS), ...(hap ? { target: { of: 'haproxy', factor: 0.5 } } : {}) },
    { case: 'first byte, new TLS connection p50', unit: 'ms', ratioTo: 'haproxy', figures: all((f) => f.p50ms) },
    { case: 'first byte, new TLS connection p99', unit: 'ms', ratioTo: 'haproxy', figures: all((f) => f.p99ms) },
    { case: 'first byte p50 added over direct', unit: 'ms', ratioTo: 'haproxy', figures: added((f) => f.p50ms), ...(hap ? { target: { of: 'haproxy', factor: 2 } } : {}) },
    { case: 'first byte p99 added over direct', unit: 'ms', ratioTo: 'haproxy', figures: added((f) => f.p99ms), ...(hap ? { target: { of: 'haproxy', factor: 2 } } : {}) },
    {
      case: `bulk, one ${(BULK_BYTES / 1024 ** 2).toFixed(0)} MiB connection${incomplete.length ? ` (INCOMPLETE: ${incomplete.join(', ')})` : ''}`,
      unit: 'MiB/s',
      higherIsBetter: true,
      ratioTo: 'haproxy',
      figures: all((f) => f.bulkMiBs),
      ...(hap ? { target: { of: 'haproxy', factor: 0.6 } } : {}),
    },
    { case: `memory per 1000 idle established connections (${IDLE_CONNS} over ${Math.floor(IDLE_CONNS / 4)})`, unit: 'MiB', ratioTo: 'haproxy', figures: [...memory].map(([name, value]) => ({ name, value })) },
    { case: `edge JS heap after GC, growth from ${churned.first.done} to ${churned.last.done} connections`, unit: 'KiB', figures: [{ name: 'ours', value: (churned.last.heap - churned.first.heap) * 1024 }] },
  ];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-bench-'));
  try {
    const b = await startBackend(dir);
    const ours = await startOurs(b, dir);
    const paths: Path[] = [{ name: 'direct', ...b }, ours.path];
    const haproxy = await startHaproxy(b, dir);
    if (haproxy) paths.push(haproxy);
    else console.log('haproxy not installed (npm run provision): its column is left out, and the targets with it');
    paths.push(await startFloor(b));
    const helloBulk = await captureClientHello('bulk.bench');
    const helloIdle = await captureClientHello('idle.bench');
    // Memory first, on fresh processes: later rounds leave each heap at its high-water mark.
    const memory = new Map<string, number>();
    for (const p of paths) if (p.pid !== undefined) memory.set(p.name, await idleMemory(p, helloIdle));
    for (const p of paths) for (let i = 0; i < 200; i++) await tlsFirstByte(p.tls); // warm-up: JIT, caches
    const rounds = new Map<string, Figures[]>(paths.map((p) => [p.name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const p of paths) {
        const connPerS = await newConnections(p);
        const fb = await firstBytes(p);
        const bk = await bulk(p, helloBulk);
        rounds.get(p.name)?.push({ connPerS, ...fb, bulkMiBs: bk.mibs, bulkOk: bk.ok });
      }
      console.log(`round ${r + 1}/${ROUNDS}: ${paths.map((p) => `${p.name} ${rounds.get(p.name)?.at(-1)?.connPerS.toFixed(0)} conn/s`).join(', ')}`);
    }
    const churned = await churn(b.idle, helloIdle, dir);
    const counted = (await (await fetch(ours.metrics)).text()).split('\n').filter((l) => l.startsWith('trc_edge_connections_total')).join('; ');
    console.log(`\nthe edge counted: ${counted}`);
    reportBenchmark('edge', 'trc edge on loopback: ours vs HAProxy (SNI map, send-proxy-v2, TCP mode) vs a bare Node pipe (floor) vs direct', 'ms', tableRows(paths, rounds, memory, churned));
    const c = churned;
    console.log(`medians of ${ROUNDS} interleaved rounds; churn (edge in this process): heap after GC ${c.first.heap.toFixed(2)} MiB at ${c.first.done} connections, ${c.last.heap.toFixed(2)} MiB at ${c.last.done}; RSS ${c.first.rss.toFixed(0)} / ${c.last.rss.toFixed(0)} MiB`);
    const perRound = (of: string, to: string, pick: (f: Figures) => number) => `x${median((rounds.get(of) ?? []).map((f, i) => pick(f) / pick((rounds.get(to) ?? [])[i] as Figures))).toFixed(2)}`;
    if (haproxy) console.log(`per-round ratios (median), ours / haproxy: new connections ${perRound('ours', 'haproxy', (f) => f.connPerS)}, bulk ${perRound('ours', 'haproxy', (f) => f.bulkMiBs)}`);
    console.log(`ours / floor: new connections ${perRound('ours', 'floor', (f) => f.connPerS)}, first byte p50 ${perRound('ours', 'floor', (f) => f.p50ms)}, bulk ${perRound('ours', 'floor', (f) => f.bulkMiBs)}`);
  } finally {
    await stopAllProcesses(3_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

await runBench('bench:edge', main);
