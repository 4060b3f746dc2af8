import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { find, parseExposition, total } from '../../test/exposition.ts';
import { hostCgroupVersion, makeLimitedCgroup } from '../../test/limited-cgroup.ts';
import { createPipeline } from '../../instrumentation/pipeline.ts';
import { podtrace } from '../../semconv/generated/podtrace.ts';
import { alertLevel } from './alert-level.ts';
import { readCgroup, startCgroupCollector } from './collector.ts';
import { locateCgroup, parseProcCgroup } from './locate.ts';
import { resolveNamespace } from './namespace.ts';
import { createCgroupRecorder } from './record.ts';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const at = (name: string) => ({ root: join(fixtures, name, 'fs'), procSelfCgroup: join(fixtures, name, 'proc-self-cgroup') });

function pipeline() {
  return createPipeline({ contracts: [podtrace], serviceName: 'cgroup-test', env: { OTEL_METRICS_EXPORTER: 'prometheus', OTEL_CONTRACTS_LOG_LEVEL: 'silent' } });
}

describe('locate', () => {
  it('parses /proc/self/cgroup', () => {
    expect(parseProcCgroup('11:cpu,cpuacct:/a\n0::/b\n1:name=systemd:/c\n')).toEqual([
      { id: '11', controllers: ['cpu', 'cpuacct'], path: '/a' },
      { id: '0', controllers: [], path: '/b' },
      { id: '1', controllers: ['name=systemd'], path: '/c' },
    ]);
  });

  it('v2: the unified path under the mount; the mount itself when the path is not visible (cgroup namespace)', () => {
    expect(locateCgroup(at('v2'))).toEqual({ version: 2, dir: join(fixtures, 'v2/fs/kubepods/pod1') });
    expect(locateCgroup(at('v2-unlimited'))).toEqual({ version: 2, dir: join(fixtures, 'v2-unlimited/fs') });
  });

  it('v1: one directory per controller', () => {
    const loc = locateCgroup(at('v1'));
    expect(loc).toEqual({
      version: 1,
      dirs: {
        memory: join(fixtures, 'v1/fs/memory/kubepods/pod1'),
        cpu: join(fixtures, 'v1/fs/cpu/kubepods/pod1'),
        cpuacct: join(fixtures, 'v1/fs/cpuacct/kubepods/pod1'),
        blkio: join(fixtures, 'v1/fs/blkio/kubepods/pod1'),
      },
    });
  });

  it('nothing to find: undefined, and the collector refuses to start', () => {
    expect(locateCgroup({ root: '/nonexistent', procSelfCgroup: '/nonexistent/cgroup' })).toBeUndefined();
    const p = pipeline();
    expect(() => startCgroupCollector(p.recorders(podtrace), { root: '/nonexistent', procSelfCgroup: '/nonexistent/cgroup' })).toThrow(/no cgroup/);
  });
});

describe('readers', () => {
  it('v2 files', () => {
    const loc = locateCgroup(at('v2'));
    expect(loc && readCgroup(loc)).toEqual({
      version: 2,
      memory: { limitBytes: 536_870_912, usageBytes: 500_000_000 },
      cpu: { quotaUs: 50_000, periodUs: 100_000, usageUs: 1_000_000 },
      io: { usageBytes: 4096 + 8192 + 100 + 200 },
    });
  });

  it('v2 unlimited: max is null, not 2^64', () => {
    const loc = locateCgroup(at('v2-unlimited'));
    expect(loc && readCgroup(loc)).toEqual({
      version: 2,
      memory: { limitBytes: null, usageBytes: 104_857_600 },
      cpu: { quotaUs: null, periodUs: 100_000, usageUs: 42 },
      io: { usageBytes: undefined },
    });
  });

  it('v1 files (cpuacct ns reported in µs; blkio Read+Write, Total not added again)', () => {
    const loc = locateCgroup(at('v1'));
    expect(loc && readCgroup(loc)).toEqual({
      version: 1,
      memory: { limitBytes: 1_073_741_824, usageBytes: 322_122_547 },
      cpu: { quotaUs: 200_000, periodUs: 100_000, usageUs: 5_000_000 },
      io: { usageBytes: 4096 + 1024 },
    });
  });

  it('v1 unlimited: 9223372036854771712 and -1 are null', () => {
    const loc = locateCgroup(at('v1-unlimited'));
    const s = loc && readCgroup(loc);
    expect(s?.memory.limitBytes).toBeNull();
    expect(s?.cpu.quotaUs).toBeNull();
    expect(s?.io.usageBytes).toBe(0);
  });

  it("the live cgroup of this process, in this host's version, as its own files say", () => {
    const version = hostCgroupVersion();
    const loc = locateCgroup();
    expect(loc?.version).toBe(version);
    const s = readCgroup(loc!);
    expect(s.version).toBe(version);
    expect(s.memory.usageBytes).toBeGreaterThan(0);
    expect(s.cpu.usageUs).toBeGreaterThan(0);
    // The memory limit, read here straight from the file: a number, or null for "no limit" (v2 `max`, v1's
    // page-counter maximum), never 2^63; undefined where the file is absent (the v2 root cgroup).
    const file = loc!.version === 2 ? join(loc!.dir, 'memory.max') : join(loc!.dirs.memory as string, 'memory.limit_in_bytes');
    const raw = existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
    const expected = raw === undefined ? undefined : raw === 'max' || BigInt(raw) >= 2n ** 60n ? null : Number(raw);
    expect(s.memory.limitBytes).toBe(expected);
  });

  it.runIf(process.getuid?.() === 0)("a real limited cgroup in this host's version (root): the limits as written", async () => {
    const cg = makeLimitedCgroup('cgroup-test', { memoryBytes: 256 * 1024 * 1024, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000 });
    try {
      expect(cg.version).toBe(hostCgroupVersion());
      const s = readCgroup(cg.location);
      expect(s.version).toBe(cg.version);
      expect(s.memory.limitBytes).toBe(268_435_456);
      expect(s.cpu).toMatchObject({ quotaUs: 50_000, periodUs: 100_000 });
      expect(s.memory.usageBytes).toBeGreaterThanOrEqual(0);
    } finally {
      await cg.remove();
    }
  });
});

describe('recorded families', () => {
  it('limited v2: limit, usage, utilization and alert level (93 % → 2) per resource type', async () => {
    const p = pipeline();
    const c = startCgroupCollector(p.recorders(podtrace), { ...at('v2'), env: { POD_NAMESPACE: 'shop' } });
    c.stop();
    const samples = parseExposition(await p.render());
    const ns = { namespace: 'shop' };
    expect(total(samples, 'podtrace_resource_limit_bytes', { resource_type: 'memory', ...ns })).toBe(536_870_912);
    expect(total(samples, 'podtrace_resource_usage_bytes', { resource_type: 'memory', ...ns })).toBe(500_000_000);
    expect(total(samples, 'podtrace_resource_utilization_percent', { resource_type: 'memory', ...ns })).toBeCloseTo(93.132, 3);
    expect(total(samples, 'podtrace_resource_alert_level', { resource_type: 'memory', ...ns })).toBe(2);
    expect(total(samples, 'podtrace_resource_limit_bytes', { resource_type: 'cpu', ...ns })).toBe(50_000);
    expect(total(samples, 'podtrace_resource_usage_bytes', { resource_type: 'cpu', ...ns })).toBe(1_000_000);
    expect(total(samples, 'podtrace_resource_usage_bytes', { resource_type: 'io', ...ns })).toBe(12_588);
    expect(find(samples, 'podtrace_resource_limit_bytes', { resource_type: 'io' })).toEqual([]);
    await p.shutdown();
  });

  it('unlimited: no limit, utilization or alert series; usage still reported', async () => {
    for (const fixture of ['v2-unlimited', 'v1-unlimited']) {
      const p = pipeline();
      startCgroupCollector(p.recorders(podtrace), { ...at(fixture), env: {} }).stop();
      const samples = parseExposition(await p.render());
      expect(find(samples, 'podtrace_resource_limit_bytes')).toEqual([]);
      expect(find(samples, 'podtrace_resource_utilization_percent')).toEqual([]);
      expect(find(samples, 'podtrace_resource_alert_level')).toEqual([]);
      expect(total(samples, 'podtrace_resource_usage_bytes', { resource_type: 'memory' })).toBeGreaterThan(0);
      // No POD_NAMESPACE and no service account: the namespace label is left off, not written empty.
      expect(find(samples, 'podtrace_resource_usage_bytes').every((s) => !('namespace' in s.labels))).toBe(true);
      await p.shutdown();
    }
  });

  it('CPU utilization is the rate of usage over the quota, from the second sample on', async () => {
    const p = pipeline();
    const record = createCgroupRecorder(p.recorders(podtrace), 'ns');
    const sample = (usageUs: number) => ({ version: 2 as const, memory: {}, cpu: { quotaUs: 50_000, periodUs: 100_000, usageUs }, io: {} });
    record(sample(1_000_000), 10_000);
    expect(find(parseExposition(await p.render()), 'podtrace_resource_utilization_percent')).toEqual([]);
    record(sample(1_475_000), 11_000); // 0.475 s of CPU in 1 s against a 0.5-CPU quota
    const samples = parseExposition(await p.render());
    expect(total(samples, 'podtrace_resource_utilization_percent', { resource_type: 'cpu' })).toBeCloseTo(95, 6);
    expect(total(samples, 'podtrace_resource_alert_level', { resource_type: 'cpu' })).toBe(3);
    await p.shutdown();
  });

  it('alert levels at 80/90/95 %', () => {
    expect([0, 79.99, 80, 89.9, 90, 94.9, 95, 150].map(alertLevel)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
  });

  it('namespace: POD_NAMESPACE, else the service-account file, else empty', () => {
    expect(resolveNamespace({ POD_NAMESPACE: 'prod' })).toBe('prod');
    expect(resolveNamespace({}, join(fixtures, 'v1/proc-self-cgroup')).length).toBeGreaterThan(0);
    expect(resolveNamespace({}, '/nonexistent')).toBe('');
  });
});
