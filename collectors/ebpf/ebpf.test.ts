import { describe, expect, it } from 'vitest';
import { parseLine, splitKey } from './parse.ts';
import { buildProgram } from './program.ts';
import { BYTES, HIST, LAST } from './probes/kinds.ts';
import { bucketValue, createEbpfRecorder } from './record.ts';
import type { PodtraceRecorders } from '../types.ts';

/** Recorders that keep every call: family → list of [value, labels]. */
function fakeRecorders(): { rec: PodtraceRecorders; calls: Map<string, [number, Record<string, string>][]> } {
  const calls = new Map<string, [number, Record<string, string>][]>();
  const rec = new Proxy({}, {
    get: (_t, name: string) => {
      const push = (v: number, labels: Record<string, string>) => {
        if (!calls.has(name)) calls.set(name, []);
        calls.get(name)!.push([v, labels]);
      };
      return { record: push, add: push };
    },
  }) as PodtraceRecorders;
  return { rec, calls };
}

describe('bpftrace JSON lines', () => {
  it('reads maps, stats, printf and the attach line; ignores blank and foreign lines', () => {
    expect(parseLine('{"type": "attached_probes", "data": {"probes": 59}}')).toEqual({ kind: 'attached', probes: 59 });
    expect(parseLine('{"type": "printf", "data": "ready\\n"}')).toEqual({ kind: 'printf', text: 'ready\n' });
    const m = parseLine('{"type": "stats", "data": {"@hist": {"python3,4,2": {"count": 4, "average": 307776, "total": 1231106}}}}');
    expect(m).toEqual({ kind: 'map', name: '@hist', entries: new Map([['python3,4,2', { count: 4, total: 1231106 }]]) });
    expect(parseLine('')).toBeUndefined();
    expect(parseLine('ERROR: something')).toBeUndefined();
  });

  it('splits keys from the right, so a process name may hold commas', () => {
    expect(splitKey('a,b,4,2', 2)).toEqual({ name: 'a,b', parts: [4, 2] });
    expect(splitKey('python3,41', 1)).toEqual({ name: 'python3', parts: [41] });
    expect(splitKey('x', 1)).toBeUndefined();
  });
});

describe('cumulative maps → podtrace measurements', () => {
  it('bucket means stay inside their podtrace bucket (le semantics)', () => {
    expect(bucketValue(0, 2, 100_000)).toBeCloseTo(0.00005);
    expect(bucketValue(2, 4, 1_231_106)).toBeCloseTo(0.000307776);
    // A racy read whose mean falls outside is moved to the edge of the bucket.
    expect(bucketValue(1, 1, 1)).toBeGreaterThan(0.0001);
    expect(bucketValue(1, 1, 10_000_000)).toBe(0.0002);
    expect(bucketValue(20, 1, 60e9)).toBe(60);
  });

  it('records only what changed since the previous print: exact counts, sums and byte deltas', () => {
    const { rec, calls } = fakeRecorders();
    const r = createEbpfRecorder(rec);
    r.map('@hist', new Map([[`python3,${HIST.fs},2`, { count: 2, total: 600_000 }]]));
    r.map('@hist', new Map([[`python3,${HIST.fs},2`, { count: 5, total: 1_500_000 }]]));
    const fs = calls.get('podtrace_fs_latency_seconds_histogram') ?? [];
    expect(fs).toHaveLength(5);
    expect(fs.reduce((a, [v]) => a + v, 0)).toBeCloseTo(0.0015, 12);
    expect(fs[0]?.[1]).toEqual({ type: 'FS', process_name: 'python3' });

    r.map('@bytes', new Map([[`python3,${BYTES.write}`, 4096]]));
    r.map('@bytes', new Map([[`python3,${BYTES.write}`, 8192], [`python3,${BYTES.send}`, 10]]));
    expect(calls.get('podtrace_filesystem_bytes_total')?.map(([v]) => v)).toEqual([4096, 4096]);
    expect(calls.get('podtrace_network_bytes_total')).toEqual([[10, { type: 'NET', process_name: 'python3', direction: 'send' }]]);

    r.map('@last', new Map([[`python3,${LAST.fsync}`, 2_000_000], [`,${LAST.dns}`, 5]]));
    r.map('@last', new Map([[`python3,${LAST.fsync}`, 2_000_000]]));
    expect(calls.get('podtrace_fs_latency_seconds_gauge')).toEqual([[0.002, { type: 'fsync', process_name: 'python3' }]]);
    expect(calls.get('podtrace_dns_latency_seconds_gauge')).toBeUndefined();
  });
});

describe('the generated program', () => {
  it('seeds the selection in BEGIN, follows forks for --pid, and prints the three aggregate maps', () => {
    const p = buildProgram({ kind: 'pid', pids: [42, 43] }, { libcPaths: ['/lib/libc.so.6'] });
    expect(p).toMatch(/BEGIN\n\{\n {2}@traced\[42\] = 1;\n {2}@traced\[43\] = 1;\n {2}printf\("ready\\n"\);/);
    expect(p).toContain('tracepoint:sched:sched_process_fork\n/@traced[pid]/');
    expect(p).toContain('uprobe:/lib/libc.so.6:getaddrinfo');
    expect(p).toMatch(/interval:ms:1000\n\{\n {2}print\(@hist\); print\(@last\); print\(@bytes\);/);
    expect(p).not.toMatch(/kprobe|kfunc|fentry/);
  });

  it('prints every 100 ms during the first interval, so the first data comes soon after attaching', () => {
    const p = buildProgram({ kind: 'pid', pids: [42] }, { libcPaths: [] });
    expect(p).toMatch(/interval:ms:100\n\/@early < 9\/\n\{\n {2}@early = @early \+ 1;\n {2}print\(@hist\); print\(@last\); print\(@bytes\);/);
    expect(p).toContain('clear(@early);');
    expect(buildProgram({ kind: 'pid', pids: [42] }, { libcPaths: [], intervalMs: 100 })).not.toContain('@early');
  });

  it('reads each tracepoint field once per block (bpftrace 0.17 compiles each args-> access slowly, per attach point)', () => {
    const p = buildProgram({ kind: 'pid', pids: [42] }, { libcPaths: ['/lib/libc.so.6'] });
    let weighted = 0;
    for (const block of p.split('\n\n')) {
      const header = /^(?:\/\/[^\n]*\n)*((?:tracepoint|uprobe|uretprobe)[^/{]*)/.exec(block.trim())?.[1] ?? '';
      const attachPoints = header.split(',').filter((a) => a.trim()).length;
      const fields = block.match(/args->\w+/g) ?? [];
      expect(new Set(fields).size, block).toBe(fields.length);
      weighted += attachPoints * fields.length;
    }
    // 143 before the fields were read once: most of the 3-4 s bpftrace took to attach.
    expect(weighted).toBeLessThanOrEqual(60);
  });

  it('filters by cgroup id or comm; refuses a comm that cannot be quoted', () => {
    expect(buildProgram({ kind: 'cgroup', ids: [7n] }, { libcPaths: [] })).toContain('/@cg[cgroup]');
    expect(buildProgram({ kind: 'comm', comm: 'python3' }, { libcPaths: [] })).toContain('comm == "python3"');
    expect(() => buildProgram({ kind: 'comm', comm: 'a"b' }, { libcPaths: [] })).toThrow(/quotes/);
  });
});
