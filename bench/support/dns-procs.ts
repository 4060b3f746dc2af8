import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../../components/egress-sidecar/testing/child.ts';
import { query, udpExchange } from '../../components/egress-sidecar/testing/dns-client.ts';

/**
 * Child processes of bench/dns.bench.ts on loopback: dnsmasq (authoritative from `--address`, or a
 * forwarder) and the egress sidecar. Every child is killed by {@link stopAll}, also on SIGINT.
 */

const children = new Set<ChildProcess>();

/** A free port for both UDP and TCP on 127.0.0.1 (bound and released; a race is possible but rare). */
export async function freePort(): Promise<number> {
  for (;;) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((resolve) => udp.bind(0, '127.0.0.1', () => resolve(udp.address().port)));
    const ok = await new Promise<boolean>((resolve) => {
      const tcp = createServer();
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => tcp.close(() => resolve(true)));
    });
    udp.close();
    if (ok) return port;
  }
}

/** Path of a binary on PATH or in /usr/sbin, or undefined. */
export function which(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name} || ls /usr/sbin/${name} 2>/dev/null`], { encoding: 'utf8' });
  const out = r.stdout.trim().split('\n')[0];
  return out ? out : undefined;
}

/** Waits until something answers DNS on `port`. @throws after `timeoutMs`. */
export async function waitForDns(port: number, what: string, timeoutMs = 10_000): Promise<void> {
  const probe = query('probe.example.test', 0xabcd);
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if ((await udpExchange(port, probe, 200)) !== undefined) return;
  }
  throw new Error(`${what} did not answer DNS on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function track(child: ChildProcess, what: string): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  child.on('exit', (code, signal) => {
    if (code && code !== 0 && signal === null) process.stderr.write(`${what} exited ${code}: ${err}\n`);
  });
  return child;
}

/**
 * Starts dnsmasq in the foreground. `authoritative`: answers `*.example.test` with 192.0.2.1 itself;
 * else forwards everything to 127.0.0.1#`upstreamPort` without a cache.
 */
export async function startDnsmasq(mode: { authoritative: true } | { upstreamPort: number }): Promise<{ port: number; child: ChildProcess }> {
  const bin = which('dnsmasq');
  if (!bin) throw new Error('dnsmasq is not installed: apt-get install -y dnsmasq (otel-config/provision.sh installs it)');
  const port = await freePort();
  const args = ['--no-daemon', '--no-resolv', '--no-hosts', '--bind-interfaces', '--listen-address=127.0.0.1', `--port=${port}`, '--log-facility=/dev/null', '--pid-file=', '--user=root'];
  if ('authoritative' in mode) args.push('--address=/example.test/192.0.2.1', '--cache-size=0');
  else args.push(`--server=127.0.0.1#${mode.upstreamPort}`, '--cache-size=0', '--dns-forward-max=1000');
  const child = track(spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] }), 'dnsmasq');
  await waitForDns(port, 'dnsmasq');
  return { port, child };
}

/** Starts the egress sidecar as a child (`node components/egress-sidecar/main.ts`) forwarding to `upstreamPort`. */
export async function startSidecar(upstreamPort: number, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ port: number; child: ChildProcess }> {
  const main = fileURLToPath(new URL('../../components/egress-sidecar/main.ts', import.meta.url));
  const port = await freePort();
  const httpPort = await freePort();
  const child = track(
    spawn(process.execPath, [main, '--dns-listen', `127.0.0.1:${port}`, '--http-listen', `127.0.0.1:${httpPort}`, '--upstream', `127.0.0.1:${upstreamPort}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, OTEL_CONTRACTS_LOG_LEVEL: 'warn', OPENSANDBOX_EGRESS_INSTANCE_ID: 'bench', ...extraEnv },
    }),
    'egress sidecar',
  );
  await waitForDns(port, 'egress sidecar');
  return { port, child };
}

/** Kills every child started here and waits for them to exit (SIGTERM, then SIGKILL after 3 s). */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, 3000)));
}
