import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../test/poll.ts';
import { findProgram, stopAllProcesses } from '../../test/processes.ts';
import { roundsPass, startAgent, valueOf, type AgentUnderTest } from './testing/agent.ts';
import { assertRootWith } from './testing/mounts.ts';
import { startWgPair, type WgPair } from './testing/wireguard.ts';
import { parseWgDump } from './wg-dump.ts';

// WireGuard for real: two userspace peers (wireguard-go) in two network namespaces joined by a veth pair,
// a real handshake (a ping across the tunnel), then the peer taken away. The agent runs in the test's own
// namespace and reads peer A with `wg show <if> dump` every 100 ms. Needs root, ip, wg and wireguard-go.

const run = promisify(execFile);
const TAG = `t${process.pid % 100_000}`;
const scratch = mkdtempSync(join(tmpdir(), 'trc-agent-overlay-'));
let pair: WgPair;
let agent: AgentUnderTest;

const scrape = async () => (await agent.scrape()).samples;
const peers = (s: Awaited<ReturnType<typeof scrape>>) => valueOf(s, 'trc_agent_overlay_peers');
const age = (s: Awaited<ReturnType<typeof scrape>>) => valueOf(s, 'trc_agent_overlay_handshake_age_seconds_max') as number;

/** The latest handshake of A's one peer, in Unix seconds, as `wg show <if> latest-handshakes` prints it. */
async function latestHandshake(): Promise<number> {
  const { stdout } = await run('wg', ['show', pair.a.iface, 'latest-handshakes'], { timeout: 5000 });
  return Number(stdout.trim().split('\t')[1]);
}

beforeAll(async () => {
  assertRootWith('the WireGuard overlay test', ['ip', 'wg', 'wireguard-go', 'ping'], findProgram);
  pair = await startWgPair(TAG, (process.pid % 200) + 20);
  agent = await startAgent(['--wg-interface', pair.a.iface, '--wg-interval', '0.1']);
}, 60_000);

afterAll(async () => {
  await agent?.close();
  await pair?.close();
  await stopAllProcesses();
  rmSync(scratch, { recursive: true, force: true });
});

describe('trc-agent: WireGuard overlay', () => {
  it('before any handshake: one peer, aged from when the agent first saw it', async () => {
    const s = await scrape();
    expect(peers(s)).toBe(1);
    expect(age(s)).toBeGreaterThanOrEqual(0);
    expect(age(s)).toBeLessThan(30);
    expect(await latestHandshake()).toBe(0);
  });

  it('a real handshake (a ping across the tunnel): one peer, its handshake age small and as wg shows it', async () => {
    expect(await pair.ping(pair.a, pair.b)).toBe(true);
    const latest = await latestHandshake();
    expect(latest).toBeGreaterThan(0);
    await roundsPass('wg reads', () => agent.agent.overlay.reads(), 2);
    const s = await scrape();
    expect(peers(s)).toBe(1);
    expect(age(s)).toBeLessThan(5);
    expect(Math.abs(age(s) - (Date.now() / 1000 - latest))).toBeLessThan(2);
  });

  it('a malformed dump line is skipped and counted, in the real dump and through an agent, and no line text is logged', async () => {
    const { stdout } = await run('wg', ['show', pair.a.iface, 'dump'], { timeout: 5000 });
    const parsed = parseWgDump(`${stdout}not a dump line\n`);
    expect(parsed.peers.map((p) => p.publicKey)).toEqual([pair.b.publicKey]);
    expect(parsed.malformed).toEqual([{ line: 3, fields: 1 }]);

    // A `wg` that prints the real dump and one line more.
    const wrapper = join(scratch, 'wg-with-garbage');
    writeFileSync(wrapper, '#!/bin/sh\nwg "$@"\nrc=$?\nprintf \'garbage\\tline\\n\'\nexit $rc\n');
    chmodSync(wrapper, 0o755);
    const other = await startAgent(['--wg-interface', pair.a.iface, '--wg-interval', '0.05'], { wgCommand: wrapper });
    try {
      await roundsPass('wg reads', () => other.agent.overlay.reads(), 3);
      expect(other.agent.overlay.malformedLines()).toBeGreaterThanOrEqual(3);
      const samples = await other.scrape().then((x) => x.samples);
      expect(peers(samples)).toBe(1);
      // Counted in the self-metric up to the last read before the scrape.
      expect(valueOf(samples, 'otel_contracts_wg_dump_lines_skipped_total')).toBeGreaterThanOrEqual(3);
      const warned = other.logsMatching(/malformed/);
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatchObject({ level: 40, lines: [{ line: 3, fields: 2 }] });
      const privateKey = stdout.split('\t')[0] as string;
      expect(JSON.stringify(other.logs())).not.toContain(privateKey);
    } finally {
      await other.close();
    }
  });

  it('the peer taken away: pings fail, the peer stays configured, its handshake age keeps growing', async () => {
    const latest = await latestHandshake();
    await pair.takeAway(pair.b);
    expect(await pair.ping(pair.a, pair.b)).toBe(false);
    const before = age(await scrape());
    const s = await pollUntil('the handshake age 3 s older', scrape, (x) => age(x) >= before + 3, { timeoutMs: 15_000, intervalMs: 250 });
    expect(peers(s)).toBe(1);
    expect(await latestHandshake()).toBe(latest);
    expect(age(s)).toBeGreaterThanOrEqual(Date.now() / 1000 - latest - 1);
  });

  it('the peer removed from the configuration: no peers, age 0', async () => {
    await pair.removePeer(pair.a, pair.b);
    const s = await pollUntil('no peer left', scrape, (x) => peers(x) === 0, { timeoutMs: 10_000, intervalMs: 100 });
    expect(age(s)).toBe(0);
  });
});
