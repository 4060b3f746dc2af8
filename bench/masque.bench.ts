/**
 * `npm run bench:masque`: the masque-vpn tunnel against its peer, Debian's user-space WireGuard
 * (`wireguard-go` with `wg`; the kernel has no wireguard module), and against the direct path, between the
 * same two network namespaces joined by a veth pair, in one run (needs root, `ip`, `ping`, `curl`,
 * `openssl`, `wireguard-go`, `wg`):
 *
 *   direct        client namespace → veth → server namespace (10.201.0.1)
 *   ours          client namespace → TUN → client process → HTTP/2 + TLS over the veth → server process → TUN (10.77.0.1)
 *   wireguard-go  client namespace → TUN → wireguard-go → UDP over the veth → wireguard-go → TUN (10.78.0.1)
 *   node relay    the floor of a Node tunnel: TUN → a bare Node relay (testing/bare-relay.ts: the same TUN reads
 *                 as ours, packets length-prefixed over plain TCP, no TLS, HTTP/2, checks or metrics) → TUN (10.79.0.1)
 *
 * ROUNDS rounds, each measuring every case for each variant in turn (interleaved, so that
 * the machine's drift falls on all of them alike). Figures: UDP echo packets per second (WINDOW datagrams of
 * 64 bytes in flight for UDP_S seconds; the median round); ping round trip p50 over all rounds (PINGS
 * pings 10 ms apart per round) and the p50 each tunnel adds to direct's, with the tunnel processes' CPU time
 * per ping (user + system, as below: how much each spends to answer at that latency); bulk TCP throughput of one
 * connection (BULK_BYTES or BULK_S seconds, whichever first; the median round); and CPU seconds per GB moved
 * by the bulk transfers: user + system time of the tunnel's own processes (ours and the relay: the client and server node
 * processes; wireguard-go: its two processes), from /proc/PID/stat before and after each transfer, summed
 * over the rounds and divided by the GB the sink acknowledged. Ratios are to wireguard-go. Targets (not a
 * test: a missed target does not fail the run): ping added ≤ wireguard-go's, packets/s and bulk ≥
 * wireguard-go's. The figures go to bench/results/masque.json and masque.svg (`reportBenchmark`), and from
 * there to the README (`bench/readme.ts`). Env: MASQUE_BENCH_ROUNDS (3), MASQUE_BENCH_UDP_S (3),
 * MASQUE_BENCH_WINDOW (64), MASQUE_BENCH_PINGS (200), MASQUE_BENCH_BULK_BYTES (536870912),
 * MASQUE_BENCH_BULK_S (5).
 */
import { makeTestPki } from '../components/masque-vpn/testing/certs.ts';
import { inNs, Namespaces, removeStaleNamespaces, scrapeInNs } from '../components/masque-vpn/testing/netns.ts';
import { total } from '../test/exposition.ts';
import { CLI, NODE_BIN, REPO_ROOT, startProcess, stopAllProcesses } from '../test/processes.ts';
import { joinByWireguard } from '../test/wireguard.ts';
import { cpuSeconds } from '../e2e/support/process-usage.ts';
import { reportBenchmark } from './support/results.ts';
import type { Row } from './support/table.ts';
import { runBench } from './support/run-bench.ts';

const ROUNDS = Number(process.env.MASQUE_BENCH_ROUNDS ?? '3');
const UDP_S = process.env.MASQUE_BENCH_UDP_S ?? '3';
const WINDOW = process.env.MASQUE_BENCH_WINDOW ?? '64';
const PINGS = process.env.MASQUE_BENCH_PINGS ?? '200';
const BULK_BYTES = process.env.MASQUE_BENCH_BULK_BYTES ?? String(512 * 1024 * 1024);
const BULK_S = process.env.MASQUE_BENCH_BULK_S ?? '5';
const T = (f: string) => `${REPO_ROOT}/components/masque-vpn/testing/${f}`;
const DIRECT = '10.201.0.1';
const PEER = 'wireguard-go';
const FLOOR = 'node relay';

/** One path the load goes through: its name in the results, the echo/sink host, and the tunnel's processes. */
interface Variant {
  readonly name: string;
  readonly host: string;
  readonly pids: readonly number[];
}

/** What the rounds measured for one variant. */
interface Measured {
  pps: number[];
  pings: number[];
  pingCpuSeconds: number;
  mbitps: number[];
  bytes: number;
  cpuSeconds: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
}

/** User + system CPU seconds of `pids` so far (all their threads). */
function cpuOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** Starts our server (in `S`) and client (in `C`); returns the variant once the tunnel is up. */
async function startOurs(S: string, C: string, pki: ReturnType<typeof makeTestPki>): Promise<Variant> {
  const env = { PATH: process.env.PATH, OTEL_CONTRACTS_LOG_LEVEL: 'info' };
  const server = startProcess('server', 'ip', ['netns', 'exec', S, NODE_BIN, CLI, 'masque-vpn', 'server', '--listen', '0.0.0.0:8443', '--pool', '10.77.0.0/24', '--tun', 'mqs0', '--cert', pki.serverCert, '--key', pki.serverKey, '--ca', pki.ca], env);
  await server.waitForLine(/masque-vpn server listening/, { stream: 'stderr', timeoutMs: 20_000 });
  const b = pki.client('bench');
  const client = startProcess('client', 'ip', ['netns', 'exec', C, NODE_BIN, CLI, 'masque-vpn', 'client', '--server', `https://${DIRECT}:8443`, '--tun', 'mqc0', '--cert', b.cert, '--key', b.key, '--ca', pki.ca], env);
  await client.waitForLine(/tunnel up/, { stream: 'stderr', timeoutMs: 20_000 });
  // `ip netns exec` execs the program: the pid is the node process's.
  return { name: 'ours', host: '10.77.0.1', pids: [server.pid, client.pid] };
}

/** Starts the floor: the bare Node relay (testing/bare-relay.ts) between the namespaces, over TCP port 9000. */
async function startBareRelay(S: string, C: string): Promise<Variant> {
  const server = startProcess('bare relay server', 'ip', ['netns', 'exec', S, NODE_BIN, T('bare-relay.ts'), 'server', 'rls0', '10.79.0.1/24', '9000']);
  await server.waitForLine(/"up"/, { timeoutMs: 20_000 });
  const client = startProcess('bare relay client', 'ip', ['netns', 'exec', C, NODE_BIN, T('bare-relay.ts'), 'client', 'rlc0', '10.79.0.2/24', DIRECT, '9000']);
  await client.waitForLine(/"up"/, { timeoutMs: 20_000 });
  return { name: FLOOR, host: '10.79.0.1', pids: [server.pid, client.pid] };
}

/** One round: each case for every variant in turn. */
async function round(C: string, variants: readonly Variant[], out: Map<string, Measured>): Promise<void> {
  for (const v of variants) {
    const u = JSON.parse(await inNs(C, NODE_BIN, T('udp-probe.ts'), 'flood', v.host, '7007', UDP_S, '64', WINDOW)) as { pps: number; sent: number; received: number };
    out.get(v.name)!.pps.push(u.pps);
  }
  for (const v of variants) {
    const c0 = cpuOf(v.pids);
    const text = await inNs(C, 'ping', '-c', PINGS, '-i', '0.01', '-W', '2', v.host);
    const m = out.get(v.name)!;
    m.pingCpuSeconds += cpuOf(v.pids) - c0;
    m.pings.push(...[...text.matchAll(/time=([\d.]+) ms/g)].map((t) => Number(t[1])));
  }
  for (const v of variants) {
    const c0 = cpuOf(v.pids);
    const r = JSON.parse(await inNs(C, NODE_BIN, T('tcp-bulk.ts'), 'send', v.host, '7008', BULK_BYTES, BULK_S)) as { mbitps: number; bytes: number };
    const m = out.get(v.name)!;
    m.cpuSeconds += cpuOf(v.pids) - c0;
    m.bytes += r.bytes;
    m.mbitps.push(r.mbitps);
  }
  console.log(variants.map((v) => `${v.name}: ${out.get(v.name)!.pps.at(-1)} pps, ${out.get(v.name)!.mbitps.at(-1)} Mbit/s`).join('; '));
}

/** The result rows from what the rounds measured. */
function rowsOf(m: Map<string, Measured>): Row[] {
  const names = [...m.keys()];
  const tunnels = names.filter((n) => n !== 'direct');
  const fig = (ns: readonly string[], f: (x: Measured) => number) => ns.map((name) => ({ name, value: Number(f(m.get(name)!).toFixed(3)) }));
  const pingP50 = (x: Measured) => median(x.pings);
  const direct = pingP50(m.get('direct')!);
  return [
    { case: `UDP echo, 64 B, ${WINDOW} in flight`, unit: 'packets/s', higherIsBetter: true, ratioTo: PEER, target: { of: PEER, factor: 1 }, figures: fig(names, (x) => Math.round(median(x.pps))) },
    { case: 'ping p50', unit: 'ms', ratioTo: PEER, figures: fig(names, pingP50) },
    { case: 'ping p50 added to direct', unit: 'ms', ratioTo: PEER, target: { of: PEER, factor: 1 }, figures: fig(tunnels, (x) => pingP50(x) - direct) },
    { case: 'tunnel CPU per ping (user + system)', unit: 'CPU ms/ping', ratioTo: PEER, figures: fig(tunnels, (x) => (x.pingCpuSeconds * 1000) / x.pings.length) },
    { case: 'bulk TCP, 1 connection', unit: 'Mbit/s', higherIsBetter: true, ratioTo: PEER, target: { of: PEER, factor: 1 }, figures: fig(names, (x) => Math.round(median(x.mbitps))) },
    { case: 'tunnel CPU per GB moved (bulk; user + system)', unit: 'CPU s/GB', ratioTo: PEER, figures: fig(tunnels, (x) => x.cpuSeconds / (x.bytes / 1e9)) },
  ];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:masque creates network namespaces and TUN devices: run it as root');
  await removeStaleNamespaces('mqb');
  const nss = new Namespaces('mqb');
  const pki = makeTestPki([DIRECT], ['bench']);
  try {
    const S = await nss.add('s');
    const C = await nss.add('c');
    await nss.link(S, 'vs0', `${DIRECT}/24`, C, 'vc0', '10.201.0.2/24');
    const ours = await startOurs(S, C, pki);
    // Interface names per run: wireguard-go's control socket (/var/run/wireguard/NAME.sock) is not per namespace.
    const wg = await joinByWireguard({ ns: S, dev: `wgs-${process.pid}`, address: '10.78.0.1/24', underlay: DIRECT }, { ns: C, dev: `wgc-${process.pid}`, address: '10.78.0.2/24', underlay: '10.201.0.2' });
    const floor = await startBareRelay(S, C);
    const variants: Variant[] = [{ name: 'direct', host: DIRECT, pids: [] }, ours, { name: PEER, host: '10.78.0.1', pids: wg.map((p) => p.process.pid) }, floor];
    await startProcess('udp echo', 'ip', ['netns', 'exec', S, NODE_BIN, T('udp-echo.ts'), '0.0.0.0', '7007']).waitForLine(/listening/);
    await startProcess('tcp sink', 'ip', ['netns', 'exec', S, NODE_BIN, T('tcp-bulk.ts'), 'sink', '0.0.0.0', '7008']).waitForLine(/listening/);
    // The WireGuard handshake happens on the first packet: one ping so that no measurement includes it.
    await inNs(C, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '10.78.0.1');

    const measured = new Map<string, Measured>(variants.map((v) => [v.name, { pps: [], pings: [], pingCpuSeconds: 0, mbitps: [], bytes: 0, cpuSeconds: 0 }]));
    for (let r = 0; r < ROUNDS; r++) await round(C, variants, measured);

    const { samples } = await scrapeInNs(S, 'http://127.0.0.1:8080/metrics');
    reportBenchmark('masque', `masque-vpn between two namespaces, ${ROUNDS} interleaved rounds: CONNECT-IP over HTTP/2 through TUN (ours) vs wireguard-go, a bare Node relay (the floor) and direct veth`, 'ms', rowsOf(measured));
    console.log(
      `\nour server counted: ${total(samples, 'masque_vpn_packets_received_total')} packets received, ${total(samples, 'masque_vpn_packets_sent_total')} sent, ` +
        `drops ${JSON.stringify(Object.fromEntries(['invalid', 'oversized', 'processing_error'].map((r) => [r, total(samples, 'masque_vpn_packet_drops_total', { reason: r })])))}`,
    );
  } finally {
    await stopAllProcesses(5000);
    await nss.removeAll();
    pki.remove();
  }
}

await runBench('bench:masque', main);
