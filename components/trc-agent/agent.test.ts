import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../check/check-exposition.ts';
import { readExposition } from '../../test/exposition.ts';
import { freePort } from '../../test/ports.ts';
import { CLI, startNode, stopAllProcesses } from '../../test/processes.ts';
import { trcAgent } from './contract.ts';
import { roundsPass, startAgent, valueOf } from './testing/agent.ts';

// The agent as a whole: the first scrape after start (every agent family, the series known in advance),
// the compliance check on it, and a missing `wg` in-process and from the command line with a PATH
// without it.

const base = mkdtempSync(join(tmpdir(), 'trc-agent-main-'));
const OVERLAY = ['trc_agent_overlay_peers', 'trc_agent_overlay_handshake_age_seconds_max'];

afterAll(async () => {
  await stopAllProcesses();
  rmSync(base, { recursive: true, force: true });
});

describe('trc-agent', () => {
  it('the first scrape has every trc_agent_* family and no other trc family; each mount, pressure kind and configured cache kind has its series; the check passes', async () => {
    const oci = join(base, 'oci');
    mkdirSync(oci);
    writeFileSync(join(oci, 'layer'), Buffer.alloc(10_000, 1));
    const a = await startAgent(['--mount', '/', '--mount', base, '--volume-pool', '/', '--cache', `oci=${oci}`], { env: { TRC_NODE_ID: 'node-7' } });
    try {
      const { text, help, type, samples } = await a.scrape();
      const trcFamilies = [...type.keys()].filter((f) => f.startsWith('trc_'));
      expect(trcFamilies.sort()).toEqual(trcAgent.families.map((f) => f.name).sort());
      expect(trcAgent.families).toHaveLength(25);
      for (const f of trcAgent.families) expect(help.get(f.name)).toBe(f.help);
      const own = samples.filter((s) => s.name.startsWith('trc_'));
      const sorted = (l: Readonly<Record<string, string>>) => JSON.stringify(Object.fromEntries(Object.entries(l).sort(([a], [b]) => a.localeCompare(b))));
      expect(own.map((s) => `${s.name}${sorted(s.labels)}`).sort()).toEqual(
        [
          'trc_agent_cache_bytes{"kind":"oci","node_id":"node-7"}',
          'trc_agent_cache_evictions_total{"kind":"oci","node_id":"node-7"}',
          'trc_agent_controlplane_reconnects_total{"node_id":"node-7"}',
          'trc_agent_disk_free_bytes{"mount":"/","node_id":"node-7"}',
          `trc_agent_disk_free_bytes{"mount":"${base}","node_id":"node-7"}`,
          'trc_agent_disk_pressure{"kind":"disk","node_id":"node-7"}',
          'trc_agent_disk_pressure{"kind":"inodes","node_id":"node-7"}',
          'trc_agent_disk_pressure{"kind":"volume_pool","node_id":"node-7"}',
          'trc_agent_volume_pool_free_bytes{"node_id":"node-7"}',
          'trc_agent_volume_pool_used_bytes{"node_id":"node-7"}',
        ].sort(),
      );
      expect(valueOf(samples, 'trc_agent_cache_bytes', { kind: 'oci' })).toBeGreaterThanOrEqual(10_000);
      expect(valueOf(samples, 'trc_agent_cache_evictions_total', { kind: 'oci' })).toBe(0);
      const result = await check(text, { contracts: [trcAgent] });
      expect(result.violations).toEqual([]);
      // base is a directory of /, not a mount point: said once at start.
      expect(a.logsMatching(/is not a mount point/)).toEqual([expect.objectContaining({ msg: `--mount ${base} is not a mount point; its figures are those of the filesystem holding it` })]);
    } finally {
      await a.close();
    }
  });

  it('`wg` missing: one line naming wireguard-tools, however many reads; the overlay families stay without series; the rest carries on', async () => {
    const a = await startAgent(['--wg-interface', 'wg0', '--wg-interval', '0.05'], { wgCommand: join(base, 'no-such-wg') });
    try {
      await roundsPass('wg reads', () => a.agent.overlay.reads(), 4);
      const lines = a.logsMatching(/wireguard-tools/);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, msg: expect.stringContaining('apt-get install wireguard-tools') });
      const { type, samples } = await a.scrape();
      for (const f of OVERLAY) {
        expect(type.get(f)).toBe('gauge');
        expect(samples.filter((s) => s.name === f)).toEqual([]);
      }
      expect(valueOf(samples, 'trc_agent_disk_free_bytes', { mount: '/' })).toBeGreaterThan(0);
    } finally {
      await a.close();
    }
  });

  it('from the command line with no `wg` on PATH: starts, says which package to install once, serves the overlay families without series, stops on SIGTERM', async () => {
    const port = await freePort();
    const empty = join(base, 'empty-path');
    mkdirSync(empty);
    const p = startNode('trc-agent', [CLI, 'trc-agent', '--wg-interface', 'wg0', '--wg-interval', '0.05', '--metrics', `127.0.0.1:${port}`], {
      PATH: empty,
      OTEL_CONTRACTS_LOG_FORMAT: 'json',
      OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000',
    });
    await p.waitForLine(/trc-agent serving/, { stream: 'stderr' });
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    const { type, samples } = readExposition(await res.text());
    for (const f of OVERLAY) {
      expect(type.get(f)).toBe('gauge');
      expect(samples.filter((s) => s.name === f)).toEqual([]);
    }
    expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).toBe('ok\n');
    expect(await p.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const install = p.stderr().split('\n').filter((l) => l.includes('wireguard-tools'));
    expect(install).toHaveLength(1);
    expect(JSON.parse(install[0] as string)).toMatchObject({ level: 40, msg: expect.stringContaining("`wg` not found: install Debian's wireguard-tools") });
  });

  it('a --mount that cannot be read at start: the start fails naming it', async () => {
    await expect(startAgent(['--mount', join(base, 'absent')])).rejects.toThrow(`--mount ${join(base, 'absent')}: ENOENT`);
  });
});
