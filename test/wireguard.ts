/**
 * Test and benchmark support (root): two ends joined by WireGuard, each a user-space `wireguard-go` (the
 * kernel here has no WireGuard module) inside a network namespace the caller created and linked, in its own
 * process group (tracked by `startProcess`: `stop()` or `stopAllProcesses` kills it as a group), configured
 * with `wg set`. wireguard-go's control socket lives in /var/run/wireguard, outside the namespaces, so
 * `wg show <dev>` works from any namespace (and device names must be unique on the machine). Keys are made
 * for the run; each private key sits in a mode-0600 file of a temporary directory only while `wg set` reads it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pollUntil } from './poll.ts';
import { startProcess, type TestProcess } from './processes.ts';

const run = promisify(execFile);

/** One end of the link, in a namespace that exists already. */
export interface WireguardEnd {
  readonly ns: string;
  /** WireGuard device name: at most 15 bytes, unique on the machine. */
  readonly dev: string;
  /** Its address on the tunnel, `A.B.C.D/N`. */
  readonly address: string;
  /** Its address on the link between the namespaces: the other end's endpoint. */
  readonly underlay: string;
}

/** One running end: its public key and its `wireguard-go` process. */
export interface WireguardPeer extends WireguardEnd {
  readonly publicKey: string;
  readonly process: TestProcess;
}

async function inNs(ns: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, ...args], { timeout: 15_000 });
  return stdout;
}

async function wgKeys(): Promise<{ priv: string; pub: string }> {
  const { stdout: priv } = await run('wg', ['genkey'], { timeout: 5000 });
  const pub = await new Promise<string>((resolve, reject) => {
    const child = execFile('wg', ['pubkey'], { timeout: 5000 }, (err, out) => (err ? reject(err) : resolve(out.trim())));
    child.stdin?.end(priv);
  });
  return { priv: priv.trim(), pub };
}

/** Starts `wireguard-go -f dev` in `ns`; resolves once its control socket exists. */
async function startWireguardGo(ns: string, dev: string): Promise<TestProcess> {
  const p = startProcess(`wireguard-go ${dev}`, 'ip', ['netns', 'exec', ns, 'wireguard-go', '-f', dev], { LOG_LEVEL: 'error' });
  await pollUntil(`the control socket of ${dev}`, async () => existsSync(`/var/run/wireguard/${dev}.sock`) || p.exitInfo() !== null, Boolean, { timeoutMs: 15_000, intervalMs: 50 });
  if (p.exitInfo() !== null) throw new Error(`wireguard-go exited:\n${p.describe()}`);
  return p;
}

/**
 * Starts `wireguard-go` at both ends and makes each the other's peer: both listen on UDP `port`, each has
 * the other's `underlay:port` as endpoint and the other's tunnel address as allowed-ips (/32); the devices
 * come up with their tunnel addresses and WireGuard's default MTU (1420). No handshake is made yet.
 * @throws Error when `wireguard-go` or `wg` is missing or a step fails; processes started are stopped first.
 */
export async function joinByWireguard(a: WireguardEnd, b: WireguardEnd, port = 51820): Promise<[WireguardPeer, WireguardPeer]> {
  const keys = await Promise.all([wgKeys(), wgKeys()]);
  const started: TestProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'otel-contracts-wg-'));
  try {
    for (const end of [a, b]) started.push(await startWireguardGo(end.ns, end.dev));
    for (const [i, end] of [a, b].entries()) {
      const other = i === 0 ? b : a;
      const file = join(dir, `k${i}`);
      writeFileSync(file, `${keys[i]?.priv}\n`, { mode: 0o600 });
      await inNs(end.ns, 'wg', 'set', end.dev, 'private-key', file, 'listen-port', String(port), 'peer', keys[1 - i]?.pub as string,
        'allowed-ips', `${other.address.split('/')[0]}/32`, 'endpoint', `${other.underlay}:${port}`);
      rmSync(file);
      await inNs(end.ns, 'ip', 'addr', 'add', end.address, 'dev', end.dev);
      await inNs(end.ns, 'ip', 'link', 'set', end.dev, 'up');
    }
  } catch (e) {
    await Promise.all(started.map((p) => p.stop('SIGTERM', 5000)));
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const [pa, pb] = started as [TestProcess, TestProcess];
  return [
    { ...a, publicKey: keys[0].pub, process: pa },
    { ...b, publicKey: keys[1].pub, process: pb },
  ];
}
