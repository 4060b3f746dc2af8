/**
 * Test support (root): two WireGuard peers for real, one per network namespace the test creates, joined
 * by a veth pair and then by WireGuard (test/wireguard.ts: a user-space `wireguard-go` per side, in its own
 * process group). wireguard-go's control socket lives in /var/run/wireguard, outside the namespaces, so
 * `wg show <if> dump` works from the test's own namespace, as an agent runs it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestProcess } from '../../../test/processes.ts';
import { joinByWireguard } from '../../../test/wireguard.ts';

const run = promisify(execFile);

/** One side: namespace, WireGuard interface, its tunnel address, its key pair and its wireguard-go process. */
export interface WgSide {
  readonly ns: string;
  readonly iface: string;
  readonly tunnelIp: string;
  publicKey: string;
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
  /** Stops both wireguard-go processes and deletes the namespaces. Never throws. */
  close(): Promise<void>;
}

async function inNs(ns: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, ...args], { timeout: 15_000 });
  return stdout;
}

/**
 * Creates namespaces `<tag>a` / `<tag>b` with veth 10.231.<n>.1/.2 and WireGuard interfaces `<tag>wa` /
 * `<tag>wb` with tunnel addresses 10.232.<n>.1/.2, each the other's peer (no handshake yet).
 * @param tag short and unique per run (interface names are at most 15 characters).
 * @throws Error from any step; what was created is removed first.
 */
export async function startWgPair(tag: string, n: number): Promise<WgPair> {
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
    },
  };
  try {
    for (const s of sides) await run('ip', ['netns', 'add', s.ns], { timeout: 15_000 });
    await run('ip', ['link', 'add', `${tag}va`, 'netns', a.ns, 'type', 'veth', 'peer', 'name', `${tag}vb`, 'netns', b.ns], { timeout: 15_000 });
    for (const [i, s] of sides.entries()) {
      const veth = `${tag}v${i === 0 ? 'a' : 'b'}`;
      await inNs(s.ns, 'ip', 'link', 'set', 'lo', 'up');
      await inNs(s.ns, 'ip', 'addr', 'add', `10.231.${n}.${i + 1}/24`, 'dev', veth);
      await inNs(s.ns, 'ip', 'link', 'set', veth, 'up');
    }
    const end = (s: WgSide, i: number) => ({ ns: s.ns, dev: s.iface, address: `${s.tunnelIp}/24`, underlay: `10.231.${n}.${i + 1}` });
    const peers = await joinByWireguard(end(a, 0), end(b, 1));
    for (const [i, s] of sides.entries()) Object.assign(s, { publicKey: peers[i]?.publicKey, process: peers[i]?.process });
  } catch (e) {
    await pair.close();
    throw e;
  }
  return pair;
}
