import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startCpuBlockCollector } from './cpu-block.ts';
import { fakeRecorders } from './testing/fake-recorders.ts';
import { readRunQueueWaits, runQueueWaitDelta } from './schedstat.ts';
import { parseSsOutput } from './ss-parse.ts';
import { findSs, ownSocketInodes, startTcpRttCollector } from './tcp-rtt.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

describe('schedstat', () => {
  it('reads field 2 of every thread and sums increases', () => {
    const waits = readRunQueueWaits(join(here, 'fixtures/task'));
    expect(Object.fromEntries(waits)).toEqual({ '101': 2_000_000, '102': 3_000_000 });
    const later = new Map([
      ['101', 2_500_000],
      ['103', 1_000],
    ]);
    expect(runQueueWaitDelta(waits, later)).toBe(500_000 + 1_000);
  });

  it('reads the live process', () => {
    expect(readRunQueueWaits().size).toBeGreaterThan(0);
  });

  it('falls back to the event-loop delay where schedstat is unavailable, and says so', () => {
    const { rec } = fakeRecorders();
    const c = startCpuBlockCollector(rec, () => 't', { taskDir: '/nonexistent/task' });
    expect(c.source).toBe('event-loop-delay');
    c.stop();
    const live = startCpuBlockCollector(rec, () => 't');
    expect(live.source).toBe('schedstat');
    live.stop();
  });
});

describe('TCP RTT via ss', () => {
  it('parses ss -tinHe records', () => {
    const text = [
      '0      0      127.0.0.1:44894 127.0.0.1:43581 ino:38011 sk:9 cgroup:/ <->',
      '\t ts sack bbr wscale:10,10 rto:204 rtt:0.031/0.017 ato:40 mss:32768 lastsnd:108 lastrcv:100 lastack:108 minrtt:0.016',
      '0      0      127.0.0.1:43581 127.0.0.1:44894 ino:38012 sk:a cgroup:/ <->',
      '\t ts sack rtt:12.5/3 lastsnd:5',
      '0      0      10.0.0.1:1 10.0.0.2:2 ino:0 sk:b <->',
      '\t rtt:1/1',
    ].join('\n');
    expect(parseSsOutput(text)).toEqual([
      { inode: 38011, rttSeconds: 0.000031, idleMs: 100 },
      { inode: 38012, rttSeconds: 0.0125, idleMs: 5 },
    ]);
  });

  it("finds this process's socket inodes: both ends of a loopback TCP connection it holds, as ss reports them", async () => {
    const server = createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const client = connect(port, '127.0.0.1');
    await new Promise<void>((r, j) => client.once('connect', r).once('error', j));
    try {
      // The kernel's inodes of the two sockets, from ss (iproute2), filtered to this connection.
      const out = execFileSync(findSs() as string, ['-tinHe', 'state', 'established', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' });
      const inodes = parseSsOutput(out).map((r) => r.inode);
      expect(inodes).toHaveLength(2);
      const own = ownSocketInodes();
      for (const ino of inodes) expect(own.has(ino), `socket inode ${ino} among ${[...own].join(',')}`).toBe(true);
    } finally {
      client.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('finds ss on PATH first, then in the standard directories', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-path-'));
    try {
      writeFileSync(join(dir, 'ss'), '');
      expect(findSs({ PATH: `/nonexistent:${dir}` })).toBe(join(dir, 'ss'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // iproute2 is a prerequisite here (npm run provision installs it): with nothing on PATH, the standard directories have it.
    const ss = findSs({ PATH: '/nonexistent' });
    expect(ss).toMatch(/^\/(usr\/)?s?bin\/ss$/);
    expect(existsSync(ss as string)).toBe(true);
  });

  it('refuses to start without ss, or without /proc', () => {
    const { rec } = fakeRecorders();
    expect(() => startTcpRttCollector(rec, () => 't', { ssPath: '/nonexistent/ss' })).toThrow(/ss. not found/);
    expect(() => startTcpRttCollector(rec, () => 't', { ssPath: findSs() as string, fdDir: '/nonexistent' })).toThrow(/ENOENT/);
  });
});
