import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNs } from './netns.ts';
import { pollUntil } from '../../../test/poll.ts';
import { startProcess, type TestProcess } from '../../../test/processes.ts';

/**
 * The benchmark's peer: Debian's user-space WireGuard (`/usr/bin/wireguard-go`, configured with `wg` from
 * wireguard-tools; the kernel has no wireguard module) between two namespaces already joined by a link.
 * One `wireguard-go -f` per namespace, each in its own process group (tracked by `startProcess`, so
 * `stopAllProcesses` kills them as groups); keys are generated for the run, and each private key sits in
 * a mode-0600 file of a temporary directory only while `wg set` reads it.
 */

/** One side of the WireGuard link. */
export interface WireguardSide {
  /** Namespace the interface lives in. */
  readonly ns: string;
  /** Interface name (at most 15 bytes). */
  readonly dev: string;
  /** Address on the tunnel, `A.B.C.D/N`. */
  readonly address: string;
}

/** The running peer: its two `wireguard-go` processes (for their CPU time). */
export interface WireguardLink {
  readonly processes: readonly TestProcess[];
}

/** Runs `wg args` with `input` on stdin; returns its output trimmed. */
function wg(input: string | undefined, ...args: string[]): string {
  return execFileSync('wg', args, { input, encoding: 'utf8', timeout: 5_000 }).trim();
}

/** Runs `wg set DEV private-key FILE ...rest` in `ns`, with `key` in FILE for the call's duration. */
function wgSet(ns: string, dev: string, key: string, rest: string[]): void {
  const dir = mkdtempSync(join(tmpdir(), 'mqb-wg-'));
  try {
    const file = join(dir, 'key');
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
    execFileSync('ip', ['netns', 'exec', ns, 'wg', 'set', dev, 'private-key', file, ...rest], { timeout: 10_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts `wireguard-go` on both sides and joins them: `server` listens on UDP `port` of `serverUnderlay`
 * (its address on the link), `client` has it as endpoint; each side routes the other's tunnel address
 * (allowed-ips /32). Interfaces come up with WireGuard's default MTU (1420).
 * @throws Error when `wireguard-go` or `wg` is missing, or the interface does not appear within 10 s.
 */
export async function startWireguard(server: WireguardSide, client: WireguardSide, serverUnderlay: string, port = 51820): Promise<WireguardLink> {
  const keys = [server, client].map(() => {
    const priv = wg(undefined, 'genkey');
    return { priv, pub: wg(`${priv}\n`, 'pubkey') };
  });
  const [ks, kc] = keys as [{ priv: string; pub: string }, { priv: string; pub: string }];
  const processes: TestProcess[] = [];
  for (const side of [server, client]) {
    const p = startProcess(`wireguard-go ${side.dev}`, 'ip', ['netns', 'exec', side.ns, 'wireguard-go', '-f', side.dev], { LOG_LEVEL: 'error' });
    processes.push(p);
    await pollUntil(`${side.dev} to appear in ${side.ns}`, () => inNs(side.ns, 'ip', 'link', 'show', side.dev).then(() => true, () => false), (up) => up, { timeoutMs: 10_000, intervalMs: 50, describe: () => p.describe() });
  }
  const host = (cidr: string) => `${cidr.split('/')[0]}/32`;
  wgSet(server.ns, server.dev, ks.priv, ['listen-port', String(port), 'peer', kc.pub, 'allowed-ips', host(client.address)]);
  wgSet(client.ns, client.dev, kc.priv, ['peer', ks.pub, 'allowed-ips', host(server.address), 'endpoint', `${serverUnderlay}:${port}`]);
  for (const side of [server, client]) {
    await inNs(side.ns, 'ip', 'addr', 'add', side.address, 'dev', side.dev);
    await inNs(side.ns, 'ip', 'link', 'set', side.dev, 'up');
  }
  return { processes };
}
