import { execFile } from 'node:child_process';
import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../test/poll.ts';
import { NODE_BIN } from '../../test/processes.ts';
import { countEvicted, EvictionTracker } from './evictions.ts';
import { roundsPass, startAgent, valueOf, type AgentUnderTest } from './testing/agent.ts';
import { walkTree } from './tree-walk.ts';

// Cache directories for real: walks compared with du, files removed, renamed and replaced, a directory
// that disappears and comes back, all seen by a running agent walking every 50 ms.

const run = promisify(execFile);
const base = mkdtempSync(join(tmpdir(), 'trc-agent-caches-'));

async function du(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sxB1', dir], { timeout: 30_000 });
  return Number(stdout.split('\t')[0]);
}

/** `n` files of `size` bytes under `dir`, spread over a few subdirectories. */
function fill(dir: string, n: number, size: number): string[] {
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const sub = join(dir, `d${i % 4}`);
    mkdirSync(sub, { recursive: true });
    const f = join(sub, `f${i}`);
    writeFileSync(f, Buffer.alloc(size, i));
    files.push(f);
  }
  return files;
}

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('trc-agent: walking a cache directory', () => {
  it('counts disk usage as du -sxB1 does: nested directories, a hard link once, a symbolic link not followed, a sparse file by its blocks', async () => {
    const dir = join(base, 'du');
    mkdirSync(dir);
    const files = fill(dir, 40, 5000);
    linkSync(files[0] as string, join(dir, 'hard-link'));
    symlinkSync('/usr', join(dir, 'sym-link'));
    writeFileSync(join(dir, 'sparse'), '');
    truncateSync(join(dir, 'sparse'), 64 * 1024 * 1024);
    mkdirSync(join(dir, 'a', 'b', 'c'), { recursive: true });
    writeFileSync(join(dir, 'a', 'b', 'c', 'deep'), Buffer.alloc(70_000, 7));
    const usage = await walkTree(dir);
    expect(usage.bytes).toBe(await du(dir));
    // 40 files + the sparse one + the deep one + the symbolic link; the hard link is the first file again.
    expect(usage.files.size).toBe(43);
    expect(usage).toMatchObject({ skipped: 0, truncated: false });
  });

  it('yields to the event loop while it walks: timers fire during a walk of 10 000 files', async () => {
    const dir = join(base, 'big');
    mkdirSync(dir);
    for (let i = 0; i < 10_000; i++) writeFileSync(join(dir, `f${i}`), '');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const usage = await walkTree(dir, { sliceMs: 2 });
    clearInterval(timer);
    expect(usage.files.size).toBe(10_000);
    expect(ticks).toBeGreaterThanOrEqual(3);
  });

  it('an inode number reused by a new file still counts the old file as evicted (birth times differ)', async () => {
    // ext4 (os.tmpdir() here) hands a freed inode number to the next file created; another process on the
    // machine may take it first, so each attempt starts afresh, at most 20 of them.
    let attempt = 0;
    let dir = '';
    let before: Map<number, number> = new Map();
    let reused = false;
    for (; attempt < 20 && !reused; attempt++) {
      dir = join(base, `reuse${attempt}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'old'), 'x');
      before = (await walkTree(dir)).files;
      const oldIno = lstatSync(join(dir, 'old')).ino;
      unlinkSync(join(dir, 'old'));
      writeFileSync(join(dir, 'new'), 'y');
      reused = lstatSync(join(dir, 'new')).ino === oldIno;
    }
    expect(reused, `no new file got the freed inode number in ${attempt} attempts`).toBe(true);
    const after = (await walkTree(dir)).files;
    expect([...after.keys()]).toEqual([...before.keys()]);
    expect(countEvicted(before, after)).toBe(1);
    expect(countEvicted(after, after)).toBe(0);
  });

  it('a file one walk misses in passing (moved from a directory not yet read into one already read) is no eviction; one two walks miss is', async () => {
    const dir = join(base, 'passing');
    mkdirSync(join(dir, 'early'), { recursive: true });
    mkdirSync(join(dir, 'late'));
    const files = fill(dir, 6, 100);
    const all = (await walkTree(dir)).files;
    // What a walk sees when a file moves under it: everything but that file.
    const moved = lstatSync(files[1] as string).ino;
    const missedInPassing = new Map([...all].filter(([ino]) => ino !== moved));
    const tracker = new EvictionTracker();
    expect([tracker.update(all), tracker.update(missedInPassing), tracker.update(all)]).toEqual([0, 0, 0]);
    unlinkSync(files[2] as string);
    const afterRemoval = (await walkTree(dir)).files;
    expect([tracker.update(afterRemoval), tracker.update(afterRemoval), tracker.update(afterRemoval)]).toEqual([0, 1, 0]);
  });

  it('a root that is missing, not a directory or not listable rejects with its code (ENOENT, ENOTDIR, EACCES)', async () => {
    await expect(walkTree(join(base, 'absent'))).rejects.toMatchObject({ code: 'ENOENT' });
    writeFileSync(join(base, 'plain'), '');
    await expect(walkTree(join(base, 'plain'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    // A root the walker may enter but not list (mode 0711, as nobody: root reads every directory).
    chmodSync(base, 0o711);
    for (const [name, mode] of [['listable', 0o755], ['unlistable', 0o711]] as const) {
      mkdirSync(join(base, name));
      writeFileSync(join(base, name, 'f'), 'x');
      chmodSync(join(base, name), mode);
    }
    const asNobody = async (dir: string) => {
      const probe = `import(${JSON.stringify(new URL('./tree-walk.ts', import.meta.url).href)}).then((m) => m.walkTree(process.argv[1])).then((u) => console.log('files', u.files.size), (e) => console.log(e.code))`;
      const { stdout } = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', NODE_BIN, '-e', probe, dir], { timeout: 30_000 });
      return stdout.trim();
    };
    expect(await asNobody(join(base, 'listable'))).toBe('files 1');
    expect(await asNobody(join(base, 'unlistable'))).toBe('EACCES');
  });
});

describe('trc-agent: cache families from a running agent', () => {
  const oci = join(base, 'oci');
  const rootdisks = join(base, 'rootdisks');
  let agent: AgentUnderTest;
  let ociFiles: string[];
  const rounds = () => agent.agent.caches.rounds();
  const scrape = async () => (await agent.scrape()).samples;

  beforeAll(async () => {
    mkdirSync(oci);
    mkdirSync(rootdisks);
    ociFiles = fill(oci, 30, 10_000);
    fill(rootdisks, 5, 100_000);
    agent = await startAgent(['--cache', `oci=${oci}`, '--cache', `rootdisks=${rootdisks}`, '--cache-interval', '0.05']);
  });
  afterAll(async () => agent?.close());

  it('the first scrape has every configured kind: the bytes of the first walk, evictions at 0, no series for a kind not configured', async () => {
    const s = await scrape();
    expect(valueOf(s, 'trc_agent_cache_bytes', { kind: 'oci' })).toBe(await du(oci));
    expect(valueOf(s, 'trc_agent_cache_bytes', { kind: 'rootdisks' })).toBe(await du(rootdisks));
    expect(valueOf(s, 'trc_agent_cache_evictions_total', { kind: 'oci' })).toBe(0);
    expect(valueOf(s, 'trc_agent_cache_evictions_total', { kind: 'rootdisks' })).toBe(0);
    expect(valueOf(s, 'trc_agent_cache_bytes', { kind: 'tmp' })).toBeUndefined();
  });

  it('a file removed from a cache is one eviction, exactly; a rename or a new file is none', async () => {
    unlinkSync(ociFiles[3] as string);
    await pollUntil('the eviction counted', scrape, (s) => valueOf(s, 'trc_agent_cache_evictions_total', { kind: 'oci' }) === 1, { timeoutMs: 10_000, intervalMs: 50 });
    renameSync(ociFiles[4] as string, join(oci, 'renamed'));
    writeFileSync(join(oci, 'added'), Buffer.alloc(3000, 1));
    await roundsPass('cache rounds', rounds, 3);
    const s = await scrape();
    expect(valueOf(s, 'trc_agent_cache_evictions_total', { kind: 'oci' })).toBe(1);
    expect(valueOf(s, 'trc_agent_cache_evictions_total', { kind: 'rootdisks' })).toBe(0);
    expect(valueOf(s, 'trc_agent_cache_bytes', { kind: 'oci' })).toBe(await du(oci));
  });

  it('a cache directory that disappears: reported once, its series keep their last value; back with the same files, no eviction', async () => {
    const s0 = await scrape();
    const bytes = valueOf(s0, 'trc_agent_cache_bytes', { kind: 'rootdisks' });
    renameSync(rootdisks, `${rootdisks}.away`);
    await roundsPass('cache rounds', rounds, 4);
    const s1 = await scrape();
    expect(valueOf(s1, 'trc_agent_cache_bytes', { kind: 'rootdisks' })).toBe(bytes);
    expect(valueOf(s1, 'trc_agent_cache_evictions_total', { kind: 'rootdisks' })).toBe(0);
    const reported = agent.logsMatching(/^cache rootdisks .* cannot be read/);
    expect(reported).toHaveLength(1);
    expect(reported[0]?.msg).toContain('(ENOENT)');
    renameSync(`${rootdisks}.away`, rootdisks);
    await pollUntil('the cache back', async () => agent.logsMatching(/^cache rootdisks .* works again/).length, (n) => n === 1, { timeoutMs: 10_000, intervalMs: 50 });
    await roundsPass('cache rounds', rounds, 2);
    const s2 = await scrape();
    expect(valueOf(s2, 'trc_agent_cache_evictions_total', { kind: 'rootdisks' })).toBe(0);
    expect(valueOf(s2, 'trc_agent_cache_bytes', { kind: 'rootdisks' })).toBe(bytes);
  });

  it('a cache directory removed with its files and made again empty: its 5 files count as evicted when it returns', async () => {
    rmSync(rootdisks, { recursive: true });
    await pollUntil('the cache reported gone', async () => agent.logsMatching(/^cache rootdisks .* cannot be read/).length, (n) => n === 2, { timeoutMs: 10_000, intervalMs: 50 });
    mkdirSync(rootdisks);
    const s = await pollUntil('the evictions counted', scrape, (x) => valueOf(x, 'trc_agent_cache_evictions_total', { kind: 'rootdisks' }) === 5, { timeoutMs: 10_000, intervalMs: 50 });
    expect(valueOf(s, 'trc_agent_cache_bytes', { kind: 'rootdisks' })).toBe(await du(rootdisks));
  });
});
