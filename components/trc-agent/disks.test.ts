import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram } from '../../test/processes.ts';
import { startAgent, valueOf, type AgentUnderTest } from './testing/agent.ts';
import { assertRootWith, df, fallocate, mountExt4Image, mountTmpfs, unmount, unmountAll } from './testing/mounts.ts';
import { statFilesystem } from './statfs.ts';

// statfs of real filesystems against df: the root filesystem, a loop-mounted ext4 image (with root's
// reserve) for the disk and inode pressure, a tmpfs as the volume pool, and a tmpfs unmounted under the
// running agent. Needs root, mount, mkfs.ext4, df and fallocate; it fails, loudly, without.

const base = mkdtempSync(join(tmpdir(), 'trc-agent-disks-'));
const ext4 = join(base, 'ext4');
const pool = join(base, 'pool');
const scratch = join(base, 'scratch');
const MiB = 1024 * 1024;
let agent: AgentUnderTest;

beforeAll(async () => {
  assertRootWith('the trc-agent disk test', ['mount', 'umount', 'mkfs.ext4', 'df', 'fallocate', 'truncate'], findProgram);
  for (const d of [ext4, pool, scratch]) mkdirSync(d);
  await mountExt4Image(join(base, 'ext4.img'), ext4, 32, 128);
  await mountTmpfs(pool, 8 * MiB);
  await mountTmpfs(scratch, 4 * MiB);
  agent = await startAgent(['--mount', '/', '--mount', ext4, '--mount', scratch, '--volume-pool', pool, '--disk-pressure-free-pct', '10']);
});

afterAll(async () => {
  await agent?.close();
  await unmountAll();
  rmSync(base, { recursive: true, force: true });
});

describe('trc-agent: disks', () => {
  it('trc_agent_disk_free_bytes is statfs f_bavail × f_frsize, as df shows Avail: exactly on a quiet filesystem, within 1 % on /', async () => {
    const s = (await agent.scrape()).samples;
    expect(valueOf(s, 'trc_agent_disk_free_bytes', { mount: ext4 })).toBe(await df(ext4, 'avail'));
    expect(valueOf(s, 'trc_agent_disk_free_bytes', { mount: scratch })).toBe(4 * MiB);
    // Other programs write to / while the test runs: the figure is compared with df's within 1 % of the size.
    const rootSize = await df('/', 'size');
    expect(Math.abs((valueOf(s, 'trc_agent_disk_free_bytes', { mount: '/' }) as number) - (await df('/', 'avail')))).toBeLessThan(rootSize / 100);
    const st = statfsSync(ext4);
    expect(statFilesystem(ext4).availBytes).toBe(st.bavail * st.frsize);
  });

  it('the volume pool: free and used bytes as df shows Avail and Used, and they follow a file written into it', async () => {
    let s = (await agent.scrape()).samples;
    expect(valueOf(s, 'trc_agent_volume_pool_free_bytes')).toBe(await df(pool, 'avail'));
    expect(valueOf(s, 'trc_agent_volume_pool_used_bytes')).toBe(await df(pool, 'used'));
    writeFileSync(join(pool, 'vol-1'), Buffer.alloc(2 * MiB, 1));
    s = (await agent.scrape()).samples;
    expect(valueOf(s, 'trc_agent_volume_pool_free_bytes')).toBe(6 * MiB);
    expect(valueOf(s, 'trc_agent_volume_pool_used_bytes')).toBe(2 * MiB);
    expect(valueOf(s, 'trc_agent_disk_pressure', { kind: 'volume_pool' })).toBe(0);
    writeFileSync(join(pool, 'vol-2'), Buffer.alloc(5.5 * MiB, 1));
    s = (await agent.scrape()).samples;
    expect(valueOf(s, 'trc_agent_volume_pool_free_bytes')).toBe(0.5 * MiB);
    expect(valueOf(s, 'trc_agent_disk_pressure', { kind: 'volume_pool' })).toBe(1);
    rmSync(join(pool, 'vol-2'));
    expect(valueOf((await agent.scrape()).samples, 'trc_agent_disk_pressure', { kind: 'volume_pool' })).toBe(0);
  });

  it('disk pressure: 1 when a mount has less than 10 % available, 0 again once space is freed', async () => {
    expect(valueOf((await agent.scrape()).samples, 'trc_agent_disk_pressure', { kind: 'disk' })).toBe(0);
    const fig = statFilesystem(ext4);
    // Leave 5 % of the size available (root's reserve is not available to begin with).
    await fallocate(join(ext4, 'fill'), fig.availBytes - Math.floor(fig.sizeBytes * 0.05));
    const s = (await agent.scrape()).samples;
    const free = valueOf(s, 'trc_agent_disk_free_bytes', { mount: ext4 }) as number;
    expect(free).toBe(await df(ext4, 'avail'));
    expect(free / fig.sizeBytes).toBeLessThan(0.1);
    expect(valueOf(s, 'trc_agent_disk_pressure', { kind: 'disk' })).toBe(1);
    rmSync(join(ext4, 'fill'));
    expect(valueOf((await agent.scrape()).samples, 'trc_agent_disk_pressure', { kind: 'disk' })).toBe(0);
  });

  it('inode pressure: 1 when a mount has less than 10 % of its inodes free', async () => {
    const dir = join(ext4, 'many');
    mkdirSync(dir);
    const fig = statFilesystem(ext4);
    const create = fig.inodesFree - Math.floor(fig.inodes * 0.05);
    for (let i = 0; i < create; i++) writeFileSync(join(dir, `f${i}`), '');
    const left = statFilesystem(ext4);
    expect(left.inodesFree / left.inodes).toBeLessThan(0.1);
    const s = (await agent.scrape()).samples;
    expect(valueOf(s, 'trc_agent_disk_pressure', { kind: 'inodes' })).toBe(1);
    expect(valueOf(s, 'trc_agent_disk_pressure', { kind: 'disk' })).toBe(0);
    rmSync(dir, { recursive: true });
    expect(valueOf((await agent.scrape()).samples, 'trc_agent_disk_pressure', { kind: 'inodes' })).toBe(0);
  });

  it('a mount unmounted under the agent: reported once, its series keeps the last value until it is mounted again', async () => {
    writeFileSync(join(scratch, 'one-mib'), Buffer.alloc(MiB, 1));
    expect(valueOf((await agent.scrape()).samples, 'trc_agent_disk_free_bytes', { mount: scratch })).toBe(3 * MiB);
    await unmount(scratch);
    for (let i = 0; i < 3; i++) expect(valueOf((await agent.scrape()).samples, 'trc_agent_disk_free_bytes', { mount: scratch })).toBe(3 * MiB);
    expect(agent.logsMatching(/no longer mounted/)).toHaveLength(1);
    expect(agent.logsMatching(/no longer mounted/)[0]).toMatchObject({ level: 40, subject: `--mount ${scratch}` });
    await mountTmpfs(scratch, 6 * MiB);
    expect(valueOf((await agent.scrape()).samples, 'trc_agent_disk_free_bytes', { mount: scratch })).toBe(6 * MiB);
    expect(agent.logsMatching(/works again/).map((l) => l.subject)).toEqual([`--mount ${scratch}`]);
  });
});
