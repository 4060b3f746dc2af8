import { spawn } from 'node:child_process';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { HostPort } from './config.ts';
import type { ResolvedAddress } from './dns-answers.ts';
import type { Action } from './policy.ts';

/**
 * The nftables layer of dns+nft mode (seed 000 §3), through the `nft` command:
 *
 * - ApplyStatic: one atomic `nft -f -` transaction that (re)creates table `inet <table>` with dynamic
 *   allow sets (`allow_v4`, `allow_v6`, flag timeout), a DoT drop rule (tcp and udp port 853) and,
 *   when resolver addresses are listed, a DoH drop rule (tcp/443 to them), each with a named counter;
 *   the sidecar's upstream resolvers (on their DNS port) and its OTLP endpoint (on its port) are always
 *   accepted; a final `verdict` chain drops (counter `l2_deny`) when the policy's default is deny.
 * - Every A/AAAA address of an allowed answer goes into the allow set with the answer's TTL.
 * - The named counters are read back with `nft -j list counters`.
 *
 * Rule order of the output chain: established/related, loopback, IPv6 neighbour discovery, pinned
 * endpoints, DoT drop, DoH drop, allow sets, then the default verdict.
 */

/** Counters read back into metrics: `dot_853` and `doh_443` → `nft_doh_dot_packets_dropped_total{reason}`, `l2_deny` → `violations_total{type="l2_deny"}`. */
export type NftCounter = 'dot_853' | 'doh_443' | 'l2_deny';
const COUNTERS: readonly NftCounter[] = ['dot_853', 'doh_443', 'l2_deny'];

/** Shortest time an address stays in the allow set, in seconds, whatever the TTL (clients reuse addresses past tiny TTLs). */
export const MIN_SET_TIMEOUT_S = 60;
/** Longest time an address stays in the allow set without being seen again, in seconds. */
export const MAX_SET_TIMEOUT_S = 86_400;
/** Expiry times remembered before the expired ones are pruned. */
const MAX_TRACKED_ADDRESSES = 4096;
/** Addresses waiting for the next `nft` run; beyond, new ones are dropped (counted in {@link NftManager.droppedAdditions}). */
export const MAX_PENDING_ADDITIONS = 4096;

/** Result of one `nft` run. */
export interface NftRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}
/** Runs `nft` with arguments and optional stdin. Tests may replace it. */
export type NftRunner = (args: readonly string[], stdin?: string) => Promise<NftRun>;

/** An `nft` command failed; the message quotes nft's error and says what to check. */
export class NftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NftError';
  }
}

/**
 * Runs the system `nft` binary, killed after `timeoutMs`. ENOENT becomes a failed run that says to install nftables.
 * @param command the command line before nft's arguments, e.g. `['ip', 'netns', 'exec', NS, 'nft']`.
 */
export function systemNft(timeoutMs = 5000, command: readonly string[] = ['nft']): NftRunner {
  return (args, stdin) =>
    new Promise((resolve) => {
      const child = spawn(command[0] as string, [...command.slice(1), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ code: 127, stdout, stderr: err.code === 'ENOENT' ? 'nft: command not found (install nftables, or run with --mode dns)' : err.message });
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? 128, stdout, stderr: signal ? `nft killed by ${signal} after ${timeoutMs} ms` : stderr });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(stdin ?? '');
    });
}

/** Options of {@link NftManager}. */
export interface NftOptions {
  /** Table name (family inet). */
  readonly table: string;
  /** Upstream resolvers: accepted on their port, UDP and TCP. */
  readonly upstreams: readonly HostPort[];
  /** IP endpoints always accepted on their TCP port (the OTLP push destination). */
  readonly pinnedEndpoints: readonly HostPort[];
  /** Resolver addresses whose tcp/443 is dropped; empty: no DoH rule. */
  readonly dohBlocklist: readonly string[];
  readonly logger: Logger;
  /** Runs `nft` (default: the system binary, {@link systemNft}). */
  readonly run?: NftRunner;
  /**
   * The clock deciding when an address in the allow set is due for a refresh, in milliseconds since the
   * epoch (default `Date.now`); tests pass one they advance.
   */
  readonly now?: () => number;
}

/** Applies and maintains the sidecar's nftables table. */
export class NftManager {
  private readonly opts: NftOptions;
  private readonly run: NftRunner;
  private readonly expiry = new Map<string, number>();
  private queue: ResolvedAddress[] = [];
  private waiters: ((added: number) => void)[] = [];
  private flushing = false;
  private dropped = 0;
  private readonly last = new Map<NftCounter, number>();

  private readonly now: () => number;

  constructor(opts: NftOptions) {
    this.opts = opts;
    this.run = opts.run ?? systemNft();
    this.now = opts.now ?? Date.now;
  }

  /** The ruleset ApplyStatic loads, for the given default action. */
  ruleset(defaultAction: Action): string {
    const t = this.opts.table;
    const v4 = this.opts.dohBlocklist.filter((ip) => isIP(ip) === 4);
    const v6 = this.opts.dohBlocklist.filter((ip) => isIP(ip) === 6);
    const lines: string[] = [
      `add table inet ${t}`,
      `delete table inet ${t}`,
      `table inet ${t} {`,
      '  set allow_v4 { type ipv4_addr; flags timeout; }',
      '  set allow_v6 { type ipv6_addr; flags timeout; }',
    ];
    if (v4.length) lines.push(`  set doh_v4 { type ipv4_addr; flags interval; elements = { ${v4.join(', ')} } }`);
    if (v6.length) lines.push(`  set doh_v6 { type ipv6_addr; flags interval; elements = { ${v6.join(', ')} } }`);
    for (const c of COUNTERS) lines.push(`  counter ${c} { }`);
    lines.push(
      '  chain egress {',
      '    type filter hook output priority 0; policy accept;',
      '    ct state established,related accept',
      '    oifname "lo" accept',
      '    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept',
    );
    for (const u of this.opts.upstreams) {
      const ip = isIP(u.host) === 6 ? 'ip6' : 'ip';
      lines.push(`    ${ip} daddr ${u.host} udp dport ${u.port} accept`, `    ${ip} daddr ${u.host} tcp dport ${u.port} accept`);
    }
    for (const e of this.opts.pinnedEndpoints) {
      lines.push(`    ${isIP(e.host) === 6 ? 'ip6' : 'ip'} daddr ${e.host} tcp dport ${e.port} accept`);
    }
    lines.push('    meta l4proto { tcp, udp } th dport 853 counter name "dot_853" drop');
    if (v4.length) lines.push('    ip daddr @doh_v4 tcp dport 443 counter name "doh_443" drop');
    if (v6.length) lines.push('    ip6 daddr @doh_v6 tcp dport 443 counter name "doh_443" drop');
    lines.push('    ip daddr @allow_v4 accept', '    ip6 daddr @allow_v6 accept', '    jump verdict', '  }', '  chain verdict {');
    if (defaultAction === 'deny') lines.push('    counter name "l2_deny" drop');
    lines.push('  }', '}');
    return lines.join('\n') + '\n';
  }

  /**
   * ApplyStatic: replaces the table atomically. The allow sets start empty.
   * @throws NftError with nft's message (no nft binary, no CAP_NET_ADMIN, no nf_tables in the kernel).
   */
  async applyStatic(defaultAction: Action): Promise<void> {
    const r = await this.run(['-f', '-'], this.ruleset(defaultAction));
    if (r.code !== 0) {
      throw new NftError(`nftables ApplyStatic of table inet ${this.opts.table} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}; dns+nft needs the nft command, CAP_NET_ADMIN and nf_tables`);
    }
    this.expiry.clear();
    this.last.clear();
  }

  /**
   * Sets the default verdict after a policy change: drop (counted in `l2_deny`) for deny, nothing for allow.
   * @throws NftError when nft refuses.
   */
  async setDefaultAction(action: Action): Promise<void> {
    const t = this.opts.table;
    const script = `flush chain inet ${t} verdict\n${action === 'deny' ? `add rule inet ${t} verdict counter name "l2_deny" drop\n` : ''}`;
    const r = await this.run(['-f', '-'], script);
    if (r.code !== 0) throw new NftError(`nftables default verdict "${action}" not applied (exit ${r.code}): ${r.stderr.trim()}`);
  }

  /** Addresses not queued because {@link MAX_PENDING_ADDITIONS} were already waiting for `nft` (the first drop is logged). */
  get droppedAdditions(): number {
    return this.dropped;
  }

  /**
   * Adds resolved addresses to the allow sets with timeout clamp(ttl, {@link MIN_SET_TIMEOUT_S}, {@link MAX_SET_TIMEOUT_S}),
   * resetting the expiry of those already there. Addresses whose element still has more than half of
   * that timeout left are skipped; the rest of the calls made while one `nft` runs are batched into the
   * next transaction, up to {@link MAX_PENDING_ADDITIONS} addresses (the excess is dropped and counted).
   * @returns how many addresses were written (0 when all were fresh or nft failed; failures are logged).
   */
  addResolved(addresses: readonly ResolvedAddress[]): Promise<number> {
    const now = this.now();
    if (this.expiry.size > MAX_TRACKED_ADDRESSES) {
      for (const [ip, until] of this.expiry) if (until <= now) this.expiry.delete(ip);
    }
    const fresh: ResolvedAddress[] = [];
    for (const a of addresses) {
      const timeout = clampTimeout(a.ttl);
      const until = this.expiry.get(a.ip);
      if (until !== undefined && until - now > (timeout * 1000) / 2) continue;
      if (this.queue.length + fresh.length >= MAX_PENDING_ADDITIONS) {
        if (this.dropped++ === 0) {
          this.opts.logger.warn({ table: this.opts.table, pending: MAX_PENDING_ADDITIONS }, 'nft is not keeping up: resolved addresses beyond the pending cap are not added to the allow set (logged once; counted in droppedAdditions)');
        }
        continue;
      }
      this.expiry.set(a.ip, now + timeout * 1000);
      fresh.push({ ...a, ttl: timeout });
    }
    if (fresh.length === 0) return Promise.resolve(0);
    this.queue.push(...fresh);
    return new Promise((resolve) => {
      const count = fresh.length;
      this.waiters.push((ok) => resolve(ok ? count : 0));
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      const waiters = this.waiters;
      this.queue = [];
      this.waiters = [];
      const t = this.opts.table;
      // A re-add keeps an element's expiry, so each address is added (making the delete safe when it is
      // absent), deleted and added again with its timeout: one transaction, no moment without it.
      let script = '';
      for (const [set, family] of [['allow_v4', 4], ['allow_v6', 6]] as const) {
        const mine = [...new Map(batch.filter((a) => a.family === family).map((a) => [a.ip, a])).values()];
        if (mine.length === 0) continue;
        const ips = mine.map((a) => a.ip).join(', ');
        script += `add element inet ${t} ${set} { ${ips} }\ndelete element inet ${t} ${set} { ${ips} }\n`;
        script += `add element inet ${t} ${set} { ${mine.map((a) => `${a.ip} timeout ${a.ttl}s`).join(', ')} }\n`;
      }
      const r = await this.run(['-f', '-'], script);
      if (r.code !== 0) {
        for (const a of batch) this.expiry.delete(a.ip);
        this.opts.logger.warn({ table: t, addresses: batch.length, err: r.stderr.trim() }, 'adding resolved addresses to the nftables allow set failed; connections to them are dropped until the next answer');
      }
      for (const w of waiters) w(r.code === 0 ? 1 : 0);
    }
    this.flushing = false;
  }

  /**
   * Reads the named counters and returns the packets counted since the previous read (a counter that
   * went backwards, e.g. after a re-apply, counts from zero).
   * @throws NftError when nft fails or prints something that is not its JSON.
   */
  async counterDeltas(): Promise<Record<NftCounter, number>> {
    const r = await this.run(['-j', 'list', 'counters', 'table', 'inet', this.opts.table]);
    if (r.code !== 0) throw new NftError(`reading nftables counters of inet ${this.opts.table} failed: ${r.stderr.trim()}`);
    let doc: { nftables?: { counter?: { name?: string; packets?: number } }[] };
    try {
      doc = JSON.parse(r.stdout) as typeof doc;
    } catch {
      throw new NftError(`nft -j list counters printed no JSON: ${r.stdout.slice(0, 200)}`);
    }
    const out: Record<NftCounter, number> = { dot_853: 0, doh_443: 0, l2_deny: 0 };
    for (const item of doc.nftables ?? []) {
      const c = item.counter;
      if (!c || !COUNTERS.includes(c.name as NftCounter) || typeof c.packets !== 'number') continue;
      const name = c.name as NftCounter;
      const prev = this.last.get(name) ?? 0;
      out[name] = c.packets >= prev ? c.packets - prev : c.packets;
      this.last.set(name, c.packets);
    }
    return out;
  }

  /** Deletes the table (graceful shutdown). Failures are logged, never thrown. */
  async removeTable(): Promise<void> {
    const r = await this.run(['delete', 'table', 'inet', this.opts.table]);
    if (r.code !== 0) this.opts.logger.warn({ table: this.opts.table, err: r.stderr.trim() }, 'could not delete the nftables table at shutdown');
  }
}

function clampTimeout(ttl: number): number {
  return Math.min(MAX_SET_TIMEOUT_S, Math.max(MIN_SET_TIMEOUT_S, Math.floor(ttl)));
}
