/**
 * Test support (root): two WireGuard peers for real, one per network namespace the test creates, joined
 * by a veth pair, each a userspace `wireguard-go` (the kernel here has no WireGuard module) in its own
 * process group, configured with `wg set`. wireguard-go's control socket lives in /var/run/wireguard,
 * outside the namespaces, so `wg show <if> dump` works from the test's own namespace, as an agent runs it.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pollUntil } from '../../../test/poll.ts';
import { startProcess, type TestProcess } from '../../../test/processes.ts';

const run = promisify(execFile);

/** One side: namespace, WireGuard interface, its tunnel address, its key pair and its wireguard-go process. */
export interface WgSide {
  readonly ns: string;
  readonly iface: string;
  readonly tunnelIp: string;
  readonly publicKey: string;
  process: TestProcess | undefined;
}

/** The two peers. */
export interface WgPair {
  readonly a: WgSide;
  readonly b: WgSide;
  /** Pings `to`'s tunnel address once from `from`'s namespace; true when it answered within 2 s. */
  ping(from: WgSide, to: WgSide): Promise<boolean>;
  /** Stops a side's wireguard-go (its interface and control socket go with it). */
  takeAway(side: WgSide): Promise<void>;
  /** Removes `peer` from `side`'s configuration (`wg set IF peer KEY remove`). */
  removePeer(side: WgSide, peer: WgSide): Promise<void>;
  /** Stops both wireguard-go processes and deletes the namespaces and the keys. Never throws. */
  close(): Promise<void>;
}

async function inNs(ns: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, ...args], { timeout: 15_000 });
  return stdout;
}

async function keyPair(dir: string, name: string): Promise<{ privateFile: string; publicKey: string }> {
  const { stdout: priv } = await run('wg', ['genkey'], { timeout: 5000 });
  const privateFile = join(dir, `${name}.key`);
  writeFileSync(privateFile, priv, { mode: 0o600 });
  chmodSync(privateFile, 0o600);
  const pub = await new Promise<string>((resolve, reject) => {
    const child = execFile('wg', ['pubkey'], { timeout: 5000 }, (err, out) => (err ? reject(err) : resolve(out.trim())));
    child.stdin?.end(priv);
  });
  return { privateFile, publicKey: pub };
}

/** Starts wireguard-go in the foreground inside `ns` and waits for its control socket. */
async function startWireguardGo(ns: string, iface: string): Promise<TestProcess> {
  const p = startProcess(`wireguard-go ${iface}`, 'ip', ['netns', 'exec', ns, 'wireguard-go', '-f', iface]);
  await pollUntil(`the control socket of ${iface}`, async () => existsSync(`/var/run/wireguard/${iface}.sock`) || p.exitInfo() !== null, Boolean, { timeoutMs: 15_000, intervalMs: 50 });
  if (p.exitInfo() !== null) throw new Error(`wireguard-go exited:\n${p.describe()}`);
  return p;
}

/**
 * Creates namespaces `<tag>a` / `<tag>b` with veth 10.231.<n>.1/.2 and WireGuard interfaces `<tag>wa` /
 * `<tag>wb` with tunnel addresses 10.232.<n>.1/.2, each the other's peer (no handshake yet).
 * @param tag short and unique per run (interface names are at most 15 characters).
 * @throws Error from any step; what was created is removed first.
 */
export async function startWgPair(tag: string, n: number): Promise<WgPair> {
  const keys = mkdtempSync(join(tmpdir(), 'trc-agent-wg-'));
  const sides: WgSide[] = ['a', 'b'].map((s, i) => ({ ns: `${tag}${s}`, iface: `${tag}w${s}`, tunnelIp: `10.232.${n}.${i + 1}`, publicKey: '', process: undefined }));
  const [a, b] = sides as [WgSide, WgSide];
  const pair: WgPair = {
    a,
    b,
    ping: (from, to) => inNs(from.ns, 'ping', '-c', '1', '-W', '2', to.tunnelIp).then(() => true, () => false),
    async takeAway(side) {
      await side.process?.stop('SIGTERM', 5000);
    },
    removePeer: async (side, peer) => void (await inNs(side.ns, 'wg', 'set', side.iface, 'peer', peer.publicKey, 'remove')),
    async close() {
      for (const s of sides) await s.process?.stop('SIGTERM', 5000);
      for (const s of sides) await run('ip', ['netns', 'del', s.ns], { timeout: 15_000 }).catch(() => undefined);
      rmSync(keys, { recursive: true, force: true });
    },
  };
  try {
    for (const s of sides) await run('ip', ['netns', 'add', s.ns], { timeout: 15_000 });
    await run('ip', ['link', 'add', `${tag}va`, 'netns', a.ns, 'type', 'veth', 'peer', 'name', `${tag}vb`, 'netns', b.ns], { timeout: 15_000 });
    const kp = await Promise.all(sides.map((s, i) => keyPair(keys, `k${i}`)));
    for (const [i, s] of sides.entries()) {
      const veth = `${tag}v${i === 0 ? 'a' : 'b'}`;
      Object.assign(s, { publicKey: (kp[i] as { publicKey: string }).publicKey });
      await inNs(s.ns, 'ip', 'link', 'set', 'lo', 'up');
      await inNs(s.ns, 'ip', 'addr', 'add', `10.231.${n}.${i + 1}/24`, 'dev', veth);
      await inNs(s.ns, 'ip', 'link', 'set', veth, 'up');
      s.process = await startWireguardGo(s.ns, s.iface);
    }
    for (const [i, s] of sides.entries()) {
      const other = sides[1 - i] as WgSide;
      await inNs(s.ns, 'wg', 'set', s.iface, 'private-key', (kp[i] as { privateFile: string }).privateFile, 'listen-port', '51820',
        'peer', other.publicKey, 'allowed-ips', `${other.tunnelIp}/32`, 'endpoint', `10.231.${n}.${2 - i}:51820`);
      await inNs(s.ns, 'ip', 'addr', 'add', `${s.tunnelIp}/24`, 'dev', s.iface);
      await inNs(s.ns, 'ip', 'link', 'set', s.iface, 'up');
    }
  } catch (e) {
    await pair.close();
    throw e;
  }
  return pair;
}
