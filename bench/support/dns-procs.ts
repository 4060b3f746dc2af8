import { fileURLToPath } from 'node:url';
import { query, udpExchange } from '../../components/egress-sidecar/testing/dns-client.ts';
import { pollUntil } from '../../test/poll.ts';
import { freePort, freeTcpUdpPort } from '../../test/ports.ts';
import { findProgram, startNode, startProcess, type TestProcess } from '../../test/processes.ts';

/**
 * Child processes of bench/dns.bench.ts on loopback, through test/processes.ts: dnsmasq
 * (authoritative from `--address`, or a forwarder), the egress sidecar and a bare Node relay. Every child is stopped
 * by `stopAllProcesses`, and SIGKILLed on exit or interrupt if that never runs.
 */

/** Waits until something answers DNS on `port`. @throws naming `what` after `timeoutMs`, or when `p` exits first. */
export async function waitForDns(p: TestProcess, port: number, timeoutMs = 10_000): Promise<void> {
  const probe = query('probe.example.test', 0xabcd);
  await pollUntil(
    `${p.name} to answer DNS on 127.0.0.1:${port}`,
    async () => {
      if (p.exitInfo()) throw new Error(`exited first:\n${p.describe()}`);
      return (await udpExchange(port, probe, 200)) !== undefined;
    },
    (answered) => answered,
    { timeoutMs, intervalMs: 10, describe: () => p.describe() },
  );
}

/** Reports a child that ends with a failure while the bench runs. */
function reportFailure(p: TestProcess): TestProcess {
  void p.exited.then((e) => {
    if (e.code && e.signal === null) process.stderr.write(`${p.describe()}\n`);
  });
  return p;
}

/**
 * Starts dnsmasq in the foreground. `authoritative`: answers `*.example.test` with 192.0.2.1 itself;
 * else forwards everything to 127.0.0.1#`upstreamPort` without a cache.
 */
export async function startDnsmasq(mode: { authoritative: true } | { upstreamPort: number }): Promise<{ port: number; process: TestProcess }> {
  const bin = findProgram('dnsmasq');
  if (!bin) throw new Error('dnsmasq is not installed: apt-get install -y dnsmasq (otel-config/provision.sh installs it)');
  const port = await freeTcpUdpPort();
  const args = ['--no-daemon', '--no-resolv', '--no-hosts', '--bind-interfaces', '--listen-address=127.0.0.1', `--port=${port}`, '--log-facility=/dev/null', '--pid-file=', '--user=root'];
  if ('authoritative' in mode) args.push('--address=/example.test/192.0.2.1', '--cache-size=0');
  else args.push(`--server=127.0.0.1#${mode.upstreamPort}`, '--cache-size=0', '--dns-forward-max=1000');
  const p = reportFailure(startProcess('dnsmasq', bin, args));
  await waitForDns(p, port);
  return { port, process: p };
}

/**
 * Starts the egress sidecar as a child (`node components/egress-sidecar/main.ts`) forwarding to `upstreamPort`.
 * With `DNS_BENCH_CPU_PROF=<dir>` the child runs under `--cpu-prof` and writes its profile into `<dir>` when it
 * stops (SIGTERM from `stopAllProcesses`), for reading self time per function on the query path.
 */
export async function startSidecar(upstreamPort: number, extraEnv: Record<string, string> = {}): Promise<{ port: number; process: TestProcess }> {
  const main = fileURLToPath(new URL('../../components/egress-sidecar/main.ts', import.meta.url));
  const port = await freeTcpUdpPort();
  const httpPort = await freePort();
  const profDir = process.env.DNS_BENCH_CPU_PROF;
  const nodeFlags = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const p = reportFailure(
    startNode('egress sidecar', [...nodeFlags, main, '--dns-listen', `127.0.0.1:${port}`, '--http-listen', `127.0.0.1:${httpPort}`, '--upstream', `127.0.0.1:${upstreamPort}`], {
      OTEL_CONTRACTS_LOG_LEVEL: 'warn',
      OPENSANDBOX_EGRESS_INSTANCE_ID: 'bench',
      ...extraEnv,
    }),
  );
  await waitForDns(p, port);
  return { port, process: p };
}

/**
 * The floor of a DNS forwarder on Node: one listening UDP socket and one connected to the upstream, the
 * client's address filed under the query id and the answer sent back to it. No parsing, no policy, no
 * metrics, no id rewriting or timeouts; answers go out with the same synchronous literal lookup the
 * sidecar uses. What Node's dgram and the kernel cost per query, apart from everything the sidecar adds.
 */
const RELAY = `
const dgram = require('node:dgram');
const [listen, upstream] = process.argv.slice(1).map(Number);
const clients = new Array(65536);
const up = dgram.createSocket('udp4');
const down = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, lookup: (host, _opts, cb) => cb(null, host, 4) });
up.on('message', (m) => {
  const id = m.readUInt16BE(0);
  const c = clients[id];
  if (c === undefined) return;
  clients[id] = undefined;
  down.send(m, c.port, c.address);
});
down.on('message', (m, rinfo) => {
  clients[m.readUInt16BE(0)] = rinfo;
  up.send(m);
});
up.connect(upstream, '127.0.0.1', () => down.bind(listen, '127.0.0.1'));
`;

/** Starts the bare Node relay ({@link RELAY}) in front of `upstreamPort`. */
export async function startNodeRelay(upstreamPort: number): Promise<{ port: number; process: TestProcess }> {
  const port = await freeTcpUdpPort();
  const p = reportFailure(startNode('node relay', ['-e', RELAY, String(port), String(upstreamPort)]));
  await waitForDns(p, port);
  return { port, process: p };
}
