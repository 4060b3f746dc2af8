import fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeRecorders, sumOf } from './testing/fake-recorders.ts';
import { startFsCollector } from './fs.ts';
import { untraced } from './untraced.ts';

const dir = mkdtempSync(join(tmpdir(), 'otel-contracts-fs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fs collector (in process)', () => {
  it('counts each form once, with exact bytes, and restores fs on stop', async () => {
    const originalRead = fs.read;
    const { rec, calls } = fakeRecorders();
    const c = startFsCollector(rec, () => 'test');
    try {
      const f = join(dir, 'f.bin');
      fs.writeFileSync(f, 'héllo'); // 6 bytes (utf8)
      fs.appendFileSync(f, Buffer.alloc(10)); // 10
      await new Promise<void>((r) => fs.appendFile(f, 'abc', () => r())); // 3, through fs.write
      await fs.promises.appendFile(f, 'defg'); // 4
      const fh = await fs.promises.open(f, 'r+');
      await fh.write(Buffer.alloc(7), 0, 7, 100); // 7
      await fh.writeFile('12345'); // 5
      await fh.datasync();
      await fh.read(Buffer.alloc(3), 0, 3, 0); // 3 read
      await fh.close();
      const fd = fs.openSync(f, 'r+');
      const { bytesRead } = await promisify(fs.read)(fd, Buffer.alloc(4), 0, 4, 0); // util.promisify keeps { bytesRead, buffer }
      expect(bytesRead).toBe(4);
      fs.fdatasyncSync(fd);
      fs.closeSync(fd);
      untraced.writeSync(2, ''); // our own writes: not counted
      const size = fs.statSync(f).size;
      const data = fs.readFileSync(f); // size bytes, through readSync once (not twice)
      expect(data.length).toBe(size);

      expect(sumOf(calls, 'podtrace_filesystem_bytes_total', { operation: 'write', type: 'FS' })).toBe(6 + 10 + 3 + 4 + 7 + 5);
      expect(sumOf(calls, 'podtrace_filesystem_bytes_total', { operation: 'read' })).toBe(3 + 4 + size);
      const gauges = calls.filter((x) => x.family === 'podtrace_fs_latency_seconds_gauge');
      expect(gauges.map((g) => g.labels.type)).toEqual(['write', 'write', 'write', 'write', 'write', 'write', 'fsync', 'read', 'read', 'fsync', 'read']);
      expect(calls.filter((x) => x.family === 'podtrace_fs_latency_seconds_histogram')).toHaveLength(gauges.length);
      expect(fs.read.name).toBe('read');
      expect(fs.read.length).toBe(originalRead.length);
    } finally {
      c.stop();
    }
    expect(fs.read).toBe(originalRead);
  });

  it('a failing operation is timed, moves no bytes, and throws the same error', () => {
    const { rec, calls } = fakeRecorders();
    const c = startFsCollector(rec, () => 'test');
    try {
      expect(() => fs.readFileSync(join(dir, 'missing'))).toThrow(/ENOENT/);
      expect(sumOf(calls, 'podtrace_filesystem_bytes_total')).toBe(0);
      expect(calls.filter((x) => x.family === 'podtrace_fs_latency_seconds_gauge')).toHaveLength(1);
    } finally {
      c.stop();
    }
  });
});
