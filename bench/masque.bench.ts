/**
 * `npm run bench:masque`: the masque-vpn tunnel against the direct path, between two network namespaces
 * joined by a veth pair, in one run (needs root, `ip`, `ping`, `curl`, `openssl`):
 *
 *   direct   client namespace → veth → server namespace (10.201.0.1)
 *   tunnel   client namespace → TUN → client process → HTTP/2 + TLS over the veth → server process → TUN (10.77.0.1)
 *
 * Figures: UDP echo packets per second (WINDOW datagrams of 64 bytes in flight for UDP_S seconds); ping
 * round trip p50 (PINGS pings 10 ms apart) and the p50 the tunnel adds; bulk TCP throughput of one
 * connection (BULK_BYTES or BULK_S seconds, whichever first). Ratios tunnel / direct. Not a test: no
 * threshold fails the run (the tunnel has no target figures). The figures go to bench/results/masque.json and
 * masque.svg (`reportBenchmark`; the tunnel is `ours`, ratios are to direct), and from there to the README
 * (`bench/readme.ts`). Env: MASQUE_BENCH_UDP_S (5), MASQUE_BENCH_WINDOW (64), MASQUE_BENCH_PINGS
 * (200), MASQUE_BENCH_BULK_BYTES (536870912), MASQUE_BENCH_BULK_S (10).
 */
import { makeTestPki } from '../components/masque-vpn/testing/certs.ts';
import { inNs, Namespaces, removeStaleNamespaces, scrapeInNs } from '../components/masque-vpn/testing/netns.ts';
import { total } from '../test/exposition.ts';
import { CLI, NODE_BIN, REPO_ROOT, startProcess, stopAllProcesses } from '../test/processes.ts';
import { reportBenchmark } from './support/results.ts';
import type { Row } from './support/table.ts';
import { runBench } from './support/run-bench.ts';

const UDP_S = process.env.MASQUE_BENCH_UDP_S ?? '5';
const WINDOW = process.env.MASQUE_BENCH_WINDOW ?? '64';
const PINGS = process.env.MASQUE_BENCH_PINGS ?? '200';
const BULK_BYTES = process.env.MASQUE_BENCH_BULK_BYTES ?? String(512 * 1024 * 1024);
const BULK_S = process.env.MASQUE_BENCH_BULK_S ?? '10';
const T = (f: string) => `${REPO_ROOT}/components/masque-vpn/testing/${f}`;
const DIRECT = '10.201.0.1';
const TUNNEL = '10.77.0.1';

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
}

async function pingTimes(ns: string, host: string): Promise<number[]> {
  const verbose = await inNs(ns, 'ping', '-c', PINGS, '-i', '0.01', '-W', '2', host);
  return [...verbose.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
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
    const env = { PATH: process.env.PATH, OTEL_CONTRACTS_LOG_LEVEL: 'warn' };
    const server = startProcess('server', 'ip', ['netns', 'exec', S, NODE_BIN, CLI, 'masque-vpn', 'server', '--listen', '0.0.0.0:8443', '--pool', '10.77.0.0/24', '--tun', 'mqs0', '--cert', pki.serverCert, '--key', pki.serverKey, '--ca', pki.ca], { ...env, OTEL_CONTRACTS_LOG_LEVEL: 'info' });
    await server.waitForLine(/masque-vpn server listening/, { stream: 'stderr', timeoutMs: 20_000 });
    const b = pki.client('bench');
    const client = startProcess('client', 'ip', ['netns', 'exec', C, NODE_BIN, CLI, 'masque-vpn', 'client', '--server', `https://${DIRECT}:8443`, '--tun', 'mqc0', '--cert', b.cert, '--key', b.key, '--ca', pki.ca], { ...env, OTEL_CONTRACTS_LOG_LEVEL: 'info' });
    await client.waitForLine(/tunnel up/, { stream: 'stderr', timeoutMs: 20_000 });
    await startProcess('udp echo', 'ip', ['netns', 'exec', S, NODE_BIN, T('udp-echo.ts'), '0.0.0.0', '7007']).waitForLine(/listening/);
    await startProcess('tcp sink', 'ip', ['netns', 'exec', S, NODE_BIN, T('tcp-bulk.ts'), 'sink', '0.0.0.0', '7008']).waitForLine(/listening/);

    const rows: Row[] = [];
    const peers = (direct: number, tunnel: number) => [
      { name: 'direct', value: direct },
      { name: 'ours', value: tunnel },
    ];
    const udp = async (host: string) => JSON.parse(await inNs(C, NODE_BIN, T('udp-probe.ts'), 'flood', host, '7007', UDP_S, '64', WINDOW)) as { pps: number; sent: number; received: number };
    const ud = await udp(DIRECT);
    const ut = await udp(TUNNEL);
    rows.push({ case: `UDP echo, 64 B, ${WINDOW} in flight`, unit: 'packets/s', higherIsBetter: true, ratioTo: 'direct', figures: peers(ud.pps, ut.pps) });

    const pd = p50(await pingTimes(C, DIRECT));
    const pt = p50(await pingTimes(C, TUNNEL));
    rows.push({ case: 'ping p50', unit: 'ms', ratioTo: 'direct', figures: peers(pd, pt) });
    rows.push({ case: 'ping p50 added by the tunnel', unit: 'ms', figures: [{ name: 'ours', value: pt - pd }] });

    const bulk = async (host: string) => JSON.parse(await inNs(C, NODE_BIN, T('tcp-bulk.ts'), 'send', host, '7008', BULK_BYTES, BULK_S)) as { mbitps: number };
    const bd = await bulk(DIRECT);
    const bt = await bulk(TUNNEL);
    rows.push({ case: 'bulk TCP, 1 connection', unit: 'Mbit/s', higherIsBetter: true, ratioTo: 'direct', figures: peers(bd.mbitps, bt.mbitps) });

    const { samples } = await scrapeInNs(S, 'http://127.0.0.1:8080/metrics');
    reportBenchmark('masque', 'masque-vpn between two namespaces: CONNECT-IP over HTTP/2 through TUN (ours) vs direct veth', 'ms', rows);
    console.log(
      `\nserver counted: ${total(samples, 'masque_vpn_packets_received_total')} packets received, ${total(samples, 'masque_vpn_packets_sent_total')} sent, ` +
        `drops ${JSON.stringify(Object.fromEntries(['invalid', 'oversized', 'processing_error'].map((r) => [r, total(samples, 'masque_vpn_packet_drops_total', { reason: r })])))}; ` +
        `UDP loss direct ${ud.sent - ud.received}/${ud.sent}, tunnel ${ut.sent - ut.received}/${ut.sent}`,
    );
  } finally {
    await stopAllProcesses(5000);
    await nss.removeAll();
    pki.remove();
  }
}

await runBench('bench:masque', main);
