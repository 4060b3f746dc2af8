import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPipeline } from '../../instrumentation/pipeline.ts';
import { podtrace } from '../../semconv/generated/podtrace.ts';
import { find, parseExposition, readExposition } from '../../test/exposition.ts';
import { parseLine, splitKey } from './parse.ts';
import { buildProgram } from './program.ts';
import { BYTES, HIST, LAST } from './probes/kinds.ts';
import { bucketValue, createEbpfRecorder, recordKnownSeries } from './record.ts';
import { resolveTarget } from './target.ts';
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

  it('attaches one block per tracepoint (each block is a BPF program run on every hit), for every selection', () => {
    for (const sel of [{ kind: 'pid', pids: [42] }, { kind: 'cgroup', ids: [7n] }, { kind: 'comm', comm: 'python3' }] as const) {
      const p = buildProgram(sel, { libcPaths: ['/lib/libc.so.6'] });
      const attachPoints = p
        .split('\n\n')
        .map((block) => /^(?:\/\/[^\n]*\n)*((?:tracepoint|uprobe|uretprobe)[^/{]*)/.exec(block.trim())?.[1] ?? '')
        .flatMap((header) => header.split(',').map((a) => a.trim()).filter((a) => a !== ''));
      expect(attachPoints).toContain('tracepoint:sock:sock_send_length');
      expect(attachPoints).toContain('tracepoint:sched:sched_process_fork');
      expect(attachPoints.filter((a, i) => attachPoints.indexOf(a) !== i), sel.kind).toEqual([]);
    }
  });

  it('filters by cgroup id or comm; refuses a comm that cannot be quoted', () => {
    expect(buildProgram({ kind: 'cgroup', ids: [7n] }, { libcPaths: [] })).toContain('/@cg[cgroup]');
    expect(buildProgram({ kind: 'comm', comm: 'python3' }, { libcPaths: [] })).toContain('comm == "python3"');
    expect(() => buildProgram({ kind: 'comm', comm: 'a"b' }, { libcPaths: [] })).toThrow(/quotes/);
  });
});

describe('series known at start', () => {
  const quiet = { OTEL_METRICS_EXPORTER: 'prometheus', OTEL_CONTRACTS_LOG_LEVEL: 'silent' };
  const named = podtrace.families.filter((f) => f.labels.some((l) => l.name === 'process_name'));

  it('every process-named family holds each known name at zero, with every documented label key, before any event', async () => {
    const p = createPipeline({ contracts: [podtrace], serviceName: 'known-series-test', env: quiet });
    try {
      expect(recordKnownSeries(p.recorders(podtrace), ['python3', 'sleep', 'python3', ''])).toEqual(['python3', 'sleep']);
      const { samples, type } = readExposition(await p.render(), new Set(podtrace.families.filter((f) => f.type === 'histogram').map((f) => f.name)));
      for (const f of named) {
        expect(type.get(f.name), f.name).toBe(f.type);
        for (const process_name of ['python3', 'sleep']) {
          const series = samples.filter((s) => s.family === f.name && s.labels.process_name === process_name);
          expect(series.length, `${f.name}{process_name="${process_name}"}`).toBeGreaterThan(0);
          for (const s of series) {
            expect(Object.keys(s.labels).filter((k) => k !== 'le').sort(), s.name).toEqual(f.labels.map((l) => l.name).sort());
            expect(s.value, `${s.name}${JSON.stringify(s.labels)}`).toBe(0);
          }
        }
      }
      // The label values the program records, one series each: the byte counters both ways, the FS gauge per operation.
      const seriesOf = (name: string) => find(samples, name, { process_name: 'sleep' }).map((s) => s.labels);
      expect(seriesOf('podtrace_network_bytes_total')).toEqual([
        { type: 'NET', process_name: 'sleep', direction: 'send' },
        { type: 'NET', process_name: 'sleep', direction: 'recv' },
      ]);
      expect(seriesOf('podtrace_filesystem_bytes_total').map((l) => l.operation)).toEqual(['read', 'write']);
      expect(seriesOf('podtrace_fs_latency_seconds_gauge').map((l) => l.type)).toEqual(['read', 'write', 'fsync']);
      expect(seriesOf('podtrace_cpu_block_seconds_histogram_count')).toEqual([{ type: 'CPU', process_name: 'sleep' }]);
      expect(find(samples, 'podtrace_fs_latency_seconds_histogram_bucket', { process_name: 'sleep' })).toHaveLength((podtrace.families.find((f) => f.name === 'podtrace_fs_latency_seconds_histogram')?.buckets?.length ?? 0) + 1);
    } finally {
      await p.shutdown(1000);
    }
  });

  it('the first events add to the started series: one series each, counts from zero', async () => {
    const p = createPipeline({ contracts: [podtrace], serviceName: 'known-series-test', env: quiet });
    try {
      const rec = p.recorders(podtrace);
      recordKnownSeries(rec, ['python3']);
      await p.render();
      const ebpf = createEbpfRecorder(rec);
      ebpf.map('@hist', new Map([[`python3,${HIST.fs},2`, { count: 3, total: 900_000 }]]));
      ebpf.map('@bytes', new Map([[`python3,${BYTES.write}`, 4096]]));
      ebpf.map('@last', new Map([[`python3,${LAST.fsync}`, 2_000_000]]));
      const samples = parseExposition(await p.render());
      const py = { process_name: 'python3' };
      expect(find(samples, 'podtrace_fs_latency_seconds_histogram_count', py).map((s) => s.value)).toEqual([3]);
      expect(find(samples, 'podtrace_fs_latency_seconds_histogram_bucket', { ...py, le: '0.0004' }).map((s) => s.value)).toEqual([3]);
      expect(find(samples, 'podtrace_filesystem_bytes_total', { ...py, operation: 'write' }).map((s) => s.value)).toEqual([4096]);
      expect(find(samples, 'podtrace_fs_latency_seconds_gauge', { ...py, type: 'fsync' }).map((s) => s.value)).toEqual([0.002]);
      expect(find(samples, 'podtrace_dns_latency_seconds_histogram_count', py).map((s) => s.value)).toEqual([0]);
    } finally {
      await p.shutdown(1000);
    }
  });

  it('the names known at start: the command name of each --pid process (threads as their process), the --comm name', () => {
    const proc = mkdtempSync(join(tmpdir(), 'podtrace-proc-'));
    try {
      for (const [pid, tgid, comm] of [
        [41, 41, 'worker'],
        [42, 41, 'worker-thread'],
        [50, 50, 'sidecar'],
      ] as const) {
        mkdirSync(join(proc, String(pid)));
        writeFileSync(join(proc, String(pid), 'status'), `Name:\t${comm}\nTgid:\t${tgid}\n`);
        writeFileSync(join(proc, String(pid), 'comm'), `${comm}\n`);
      }
      expect(resolveTarget({ pids: ['42', '41', '50'] }, { proc }).knownProcessNames).toEqual(['worker', 'sidecar']);
      expect(resolveTarget({ comm: 'python3' }, { proc }).knownProcessNames).toEqual(['python3']);
      expect(resolveTarget({ comm: 'a-very-long-command-name' }, { proc }).knownProcessNames).toEqual(['a-very-long-com']);
      // This process, through the real /proc: the name the probes will report.
      expect(resolveTarget({ pids: [String(process.pid)] }).knownProcessNames).toEqual([readFileSync('/proc/self/comm', 'utf8').trim()]);
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });
});
