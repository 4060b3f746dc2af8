/**
 * `otel-contracts podtrace` against real processes, as root with bpftrace: a Python workload (no Node,
 * no preload; fixtures/workload.py) resolving through a real loopback dnsmasq (fixtures/loopback-resolver.ts),
 * traced by --pid and by --cgroup, and the families checked against what it did. Without root or
 * bpftrace the kernel tests are not run (the unit tests in collectors/ebpf still are); when bpftrace is
 * there but cannot attach, they fail with bpftrace's reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExposition, scrape, scrapeUntil, total, find, type SampleLine } from '../../test/exposition.ts';
import { freePort } from '../../test/ports.ts';
import { pollUntil } from '../../test/poll.ts';
import { CLI, NODE_BIN, findProgram, runProcess, startProcess, stopAllProcesses, type TestProcess } from '../../test/processes.ts';
import { EXAMPLE_TEST_ADDRESS, startLoopbackResolver, type LoopbackResolver } from './fixtures/loopback-resolver.ts';
import { cgroupParent, cgroupProcs, makeTestCgroup, removeTestCgroup } from './fixtures/test-cgroup.ts';
import { makeLimitedCgroup, type LimitedCgroup } from '../../test/limited-cgroup.ts';
import { podtrace as contract } from '../../semconv/generated/podtrace.ts';
import { metricsAddressOf } from './main.ts';

const isRoot = process.getuid?.() === 0;
const bpftrace = findProgram('bpftrace');

/** The workload (see its docstring): file writes, DNS through the resolver, a TCP exchange, then rounds of writes. */
const WORKLOAD = fileURLToPath(new URL('./fixtures/workload.py', import.meta.url));
/** The name it resolves, how many getaddrinfo calls and plain UDP queries it makes (fixtures/workload.py). */
const DNS_NAME = 'podtrace.example.test';
const GETADDRINFO_CALLS = 3;
const RAW_QUERIES = 2;
/**
 * DNS latency observations the workload makes: each getaddrinfo of the name (its UDP exchanges inside are
 * not counted again), create_connection's getaddrinfo('127.0.0.1'), and each plain UDP port-53 exchange.
 */
const DNS_OBSERVATIONS = GETADDRINFO_CALLS + 1 + RAW_QUERIES;
/** The --cgroup tracer's grace period for exited processes' gauges: long enough for a few scrapes to see them. */
const EXITED_GRACE_SECONDS = 3;
/** What the workload prints once its first batch is done (its DNS answers right), with one DNS query's and reply's sizes. */
const DONE = new RegExp(`^done 40960 3000 dns=${EXAMPLE_TEST_ADDRESS.replaceAll('.', '\\.')} raw=ok udp=(\\d+)/(\\d+)$`);

/**
 * The socket bytes the workload moves each way: the TCP exchange (it is both client and server: 1000 + 3000
 * bytes each way) and its DNS over UDP (every query of the name, the resolver's and its own, and the replies).
 */
function socketBytes(done: RegExpMatchArray): { send: number; recv: number } {
  const queries = GETADDRINFO_CALLS + RAW_QUERIES;
  return { send: 4000 + queries * Number(done[1]), recv: 4000 + queries * Number(done[2]) };
}

/** Starts the workload, resolving through `resolver`, optionally in `cgroup`; resolves with it and its pid. */
async function startWorkload(resolver: LoopbackResolver, trigger: string, cgroup?: string): Promise<{ work: TestProcess; pid: string }> {
  const { command, args } = resolver.wrap(['python3', WORKLOAD, trigger, resolver.address], cgroup);
  const work = startProcess(`python workload${cgroup ? ' (cgroup)' : ''}`, command, args);
  const ready = await work.waitForLine(/^ready (\d+)/);
  return { work, pid: ready[1] as string };
}

function podtrace(args: readonly string[], env: Record<string, string> = {}): TestProcess {
  return startProcess('podtrace', NODE_BIN, [CLI, 'podtrace', ...args], { OTEL_CONTRACTS_LOG_LEVEL: 'info', ...env });
}

describe('otel-contracts podtrace: bad input (any user)', () => {
  afterAll(() => stopAllProcesses());

  it('PODTRACE_METRICS_ADDR goes through the component kit: :PORT means every interface; a host name or a bad port is refused', () => {
    expect(metricsAddressOf({})).toEqual({ host: '127.0.0.1', port: 3000 });
    expect(metricsAddressOf({ PODTRACE_METRICS_ADDR: ' 127.0.0.2:9100 ' })).toEqual({ host: '127.0.0.2', port: 9100 });
    expect(metricsAddressOf({ PODTRACE_METRICS_ADDR: '[::1]:3000' })).toEqual({ host: '::1', port: 3000 });
    expect(metricsAddressOf({ PODTRACE_METRICS_ADDR: ':3000' })).toEqual({ host: '0.0.0.0', port: 3000 });
    for (const bad of ['3000', 'metrics.example:3000', '127.0.0.1:70000']) expect(() => metricsAddressOf({ PODTRACE_METRICS_ADDR: bad }), bad).toThrow(/^PODTRACE_METRICS_ADDR /);
  });

  it('a bad PODTRACE_METRICS_ADDR, or :PORT without the opt-in, exits 2 before anything starts, naming what to do', async () => {
    const bad = await runProcess('podtrace', NODE_BIN, [CLI, 'podtrace', '--pid', '1'], { PODTRACE_METRICS_ADDR: 'metrics.example:3000' }, { timeoutMs: 30_000 });
    expect(bad.code, bad.describe).toBe(2);
    expect(bad.stderr).toMatch(/PODTRACE_METRICS_ADDR "metrics.example:3000": the host must be an IP address or localhost/);
    const all = await runProcess('podtrace', NODE_BIN, [CLI, 'podtrace', '--pid', '1'], { PODTRACE_METRICS_ADDR: ':3000' }, { timeoutMs: 30_000 });
    expect(all.code, all.describe).toBe(2);
    expect(all.stderr).toMatch(/refusing to serve metrics \(PODTRACE_METRICS_ADDR\) on non-loopback address 0\.0\.0\.0.*OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true/);
    expect(all.stderr).not.toMatch(/attached/);
  });

  it('no target, a pid that does not exist, a path that is not a cgroup: exit 2 naming what to do', async () => {
    const none = await runProcess('podtrace', NODE_BIN, [CLI, 'podtrace'], {}, { timeoutMs: 30_000 });
    expect(none.code, none.describe).toBe(2);
    expect(none.stderr).toMatch(/exactly one of --pid/);
    const dir = mkdtempSync(join(tmpdir(), 'podtrace-notcg-'));
    try {
      const cases: { args: string[]; re: RegExp }[] = [
        // Prerequisites are checked first: without root the answer is that one.
        { args: ['--pid', '999999999'], re: isRoot ? /--pid 999999999: no such process.*pgrep/ : /must run as root/ },
        { args: ['--cgroup', dir], re: isRoot ? /not a cgroup directory \(no cgroup.procs there\)/ : /must run as root/ },
        { args: ['--pid', '1', '--comm', 'x'], re: /exactly one of/ },
      ];
      for (const { args, re } of cases) {
        const r = await runProcess('podtrace', NODE_BIN, [CLI, 'podtrace', ...args], {}, { timeoutMs: 30_000 });
        expect(r.code, r.describe).toBe(2);
        expect(r.stderr, r.describe).toMatch(re);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(isRoot && bpftrace !== undefined)('otel-contracts podtrace --pid on a Python workload (root, bpftrace)', () => {
  let dir: string;
  let resolver: LoopbackResolver;
  let work: TestProcess;
  let tracer: TestProcess;
  let url: string;
  let samples: SampleLine[];
  let bytes: { send: number; recv: number };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'podtrace-'));
    resolver = await startLoopbackResolver(dir);
    let pid: string;
    ({ work, pid } = await startWorkload(resolver, join(dir, 'go')));
    const port = await freePort();
    url = `http://127.0.0.1:${port}/metrics`;
    tracer = podtrace(['--pid', pid], { PODTRACE_METRICS_ADDR: `127.0.0.1:${port}` });
    // bpftrace compiles and attaches in a few seconds; its failure (e.g. no tracepoint) ends the process with its message.
    await tracer.waitForLine(/podtrace attached \d+ probes/, { stream: 'stderr', timeoutMs: 90_000 });
    writeFileSync(join(dir, 'go'), '');
    bytes = socketBytes(await work.waitForLine(DONE));
    samples = await scrapeUntil(
      url,
      'the workload in the podtrace families',
      (s) =>
        total(s, 'podtrace_filesystem_bytes_total', { operation: 'write', process_name: 'python3' }) >= 40960 &&
        total(s, 'podtrace_network_bytes_total', { direction: 'recv', process_name: 'python3' }) >= bytes.recv &&
        total(s, 'podtrace_dns_latency_seconds_histogram_count', { process_name: 'python3' }) >= DNS_OBSERVATIONS &&
        total(s, 'podtrace_latency_seconds_count', { process_name: 'python3' }) >= 1,
      { timeoutMs: 20_000, intervalMs: 500, describe: (s) => s.filter((x) => !x.name.endsWith('_bucket')).map((x) => `${x.name}${JSON.stringify(x.labels)} ${x.value}`).join('\n') },
    );
  }, 150_000);

  afterAll(async () => {
    await stopAllProcesses();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const py = { process_name: 'python3' };

  it('filesystem: bytes written equal what the workload wrote; reads include the read-back; latency by type', () => {
    expect(total(samples, 'podtrace_filesystem_bytes_total', { ...py, type: 'FS', operation: 'write' })).toBe(40960);
    expect(total(samples, 'podtrace_filesystem_bytes_total', { ...py, operation: 'read' })).toBeGreaterThanOrEqual(40960);
    for (const type of ['read', 'write', 'fsync']) {
      expect(find(samples, 'podtrace_fs_latency_seconds_gauge', { ...py, type }), type).toHaveLength(1);
    }
    // 10 writes + 10 fsyncs + at least one read, all in the FS histogram; its buckets are podtrace's.
    expect(total(samples, 'podtrace_fs_latency_seconds_histogram_count', { ...py, type: 'FS' })).toBeGreaterThanOrEqual(21);
    const les = find(samples, 'podtrace_fs_latency_seconds_histogram_bucket', py).map((s) => s.labels.le);
    expect(les.slice(0, 3)).toEqual(['0.0001', '0.0002', '0.0004']);
    expect(les.at(-1)).toBe('+Inf');
  });

  it('TCP: a connect latency sample, RTT samples; network bytes: the TCP exchange and the DNS over UDP', () => {
    expect(total(samples, 'podtrace_latency_seconds_count', { ...py, type: 'NET' })).toBe(1);
    expect(find(samples, 'podtrace_latency_latest_seconds', py)[0]?.value).toBeGreaterThan(0);
    expect(total(samples, 'podtrace_rtt_seconds_count', { ...py, type: 'NET' })).toBeGreaterThanOrEqual(1);
    expect(find(samples, 'podtrace_rtt_latest_seconds', py)).toHaveLength(1);
    expect(total(samples, 'podtrace_network_bytes_total', { ...py, type: 'NET', direction: 'send' })).toBe(bytes.send);
    expect(total(samples, 'podtrace_network_bytes_total', { ...py, type: 'NET', direction: 'recv' })).toBe(bytes.recv);
  });

  it('DNS against a loopback dnsmasq: each getaddrinfo (uprobe) and each plain UDP port-53 exchange timed once', () => {
    // dnsmasq answered the workload's queries: one A query per getaddrinfo(AF_INET), plus the hand-made ones.
    expect(resolver.queriesFor(DNS_NAME), resolver.process.describe()).toBe(GETADDRINFO_CALLS + RAW_QUERIES);
    expect(total(samples, 'podtrace_dns_latency_seconds_histogram_count', { ...py, type: 'DNS' })).toBe(DNS_OBSERVATIONS);
    expect(find(samples, 'podtrace_dns_latency_seconds_gauge', py)[0]?.value).toBeGreaterThan(0);
  });

  it('CPU block time and the cgroup resource usage are there', () => {
    expect(total(samples, 'podtrace_cpu_block_seconds_histogram_count', { ...py, type: 'CPU' })).toBeGreaterThan(0);
    expect(find(samples, 'podtrace_resource_usage_bytes', { resource_type: 'memory' }).length).toBe(1);
  });

  it('otel-contracts check --contract podtrace passes on the served exposition', async () => {
    const r = await runProcess('check', NODE_BIN, [CLI, 'check', '--contract', 'podtrace', url], {}, { timeoutMs: 30_000 });
    expect(r.code, r.describe).toBe(0);
  });

  it('SIGTERM stops bpftrace (its process group) and exits 0', async () => {
    const bpftracePid = Number(/"bpftracePid":(\d+)/.exec(tracer.stderr())?.[1]);
    expect(bpftracePid).toBeGreaterThan(0);
    const exit = await tracer.stop('SIGTERM', 20_000);
    expect(exit, tracer.describe()).toEqual({ code: 0, signal: null });
    await pollUntil(`bpftrace ${bpftracePid} gone`, async () => existsSync(`/proc/${bpftracePid}`), (alive) => !alive, { timeoutMs: 10_000, intervalMs: 100 });
  }, 40_000);

  it('bpftrace dying mid-run is logged, counted and restarted; the families keep growing', async () => {
    const port = await freePort();
    const turl = `http://127.0.0.1:${port}/metrics`;
    const t = podtrace(['--pid', String(work.pid)], { PODTRACE_METRICS_ADDR: `127.0.0.1:${port}` });
    await t.waitForLine(/podtrace attached \d+ probes/, { stream: 'stderr', timeoutMs: 90_000 });
    const first = Number(/"bpftracePid":(\d+)/.exec(t.stderr())?.[1]);
    expect(first).toBeGreaterThan(0);
    const written = (s: SampleLine[]) => total(s, 'podtrace_filesystem_bytes_total', { ...py, type: 'FS', operation: 'write' });
    writeFileSync(join(dir, 'go.1'), '');
    await work.waitForLine(/^round 1$/);
    await scrapeUntil(turl, 'round 1 written', (s) => written(s) >= 40960, { timeoutMs: 20_000, intervalMs: 250 });

    process.kill(first, 'SIGKILL');
    const line = await t.waitForLine(/"bpftracePid":(\d+).*bpftrace restarted/, { stream: 'stderr', timeoutMs: 90_000 });
    const second = Number(line[1]);
    expect(second, t.describe()).toBeGreaterThan(0);
    expect(second).not.toBe(first);
    expect(existsSync(`/proc/${second}`), t.describe()).toBe(true);
    expect(t.stderr()).toMatch(/bpftrace exited unexpectedly: restarting it in 1000 ms/);
    expect(t.exitInfo()).toBeNull();

    writeFileSync(join(dir, 'go.2'), '');
    await work.waitForLine(/^round 2$/);
    const after = await scrapeUntil(turl, 'round 2 written through the new bpftrace, and the restart counted', (s) => written(s) >= 81920 && total(s, 'otel_contracts_tracer_restarts_total') >= 1, {
      timeoutMs: 20_000,
      intervalMs: 250,
      describe: (s) => `written ${written(s)}, restarts ${total(s, 'otel_contracts_tracer_restarts_total')}\n${t.describe()}`,
    });
    expect(written(after)).toBe(81920);
    expect(total(after, 'otel_contracts_tracer_restarts_total')).toBe(1);

    const exit = await t.stop('SIGTERM', 20_000);
    expect(exit, t.describe()).toEqual({ code: 0, signal: null });
    await pollUntil(`bpftrace ${second} gone`, async () => existsSync(`/proc/${second}`), (alive) => !alive, { timeoutMs: 10_000, intervalMs: 100 });
  }, 180_000);

  it('bpftrace dying after the traced process is gone: logged, not restarted, exit 1', async () => {
    const sleeper = startProcess('sleep', 'sleep', ['600']);
    const port = await freePort();
    const t = podtrace(['--pid', String(sleeper.pid)], { PODTRACE_METRICS_ADDR: `127.0.0.1:${port}` });
    await t.waitForLine(/podtrace attached \d+ probes/, { stream: 'stderr', timeoutMs: 90_000 });
    const bpftracePid = Number(/"bpftracePid":(\d+)/.exec(t.stderr())?.[1]);
    await sleeper.stop('SIGKILL', 10_000);
    process.kill(bpftracePid, 'SIGKILL');
    const exit = await pollUntil('podtrace to exit after bpftrace died with its target gone', async () => t.exitInfo(), (e) => e !== null, { timeoutMs: 30_000, intervalMs: 100 });
    expect(exit?.code, t.describe()).toBe(1);
    expect(t.stderr()).toMatch(/the traced target is gone: not restarting/);
    expect(t.stderr()).not.toMatch(/bpftrace restarted/);
  }, 120_000);

  it('missing prerequisites: exit 2 naming the missing piece', async () => {
    for (const [env, re] of [
      [{ OTEL_CONTRACTS_BPFTRACE: '/nonexistent/bpftrace' }, /bpftrace not found.*apt-get install -y bpftrace/],
      [{ OTEL_CONTRACTS_BTF: '/nonexistent/vmlinux' }, /no kernel BTF at \/nonexistent\/vmlinux/],
      [{ OTEL_CONTRACTS_TRACEFS: '/nonexistent/tracing' }, /tracefs is not mounted at \/nonexistent\/tracing and mounting it failed/],
    ] as const) {
      const r = await runProcess('podtrace', NODE_BIN, [CLI, 'podtrace', '--pid', String(work.pid)], env, { timeoutMs: 30_000 });
      expect(r.code, r.describe).toBe(2);
      expect(r.stderr, r.describe).toMatch(re);
    }
  }, 60_000);
});

describe.runIf(isRoot && bpftrace !== undefined)('the first scrape after podtrace attaches holds every family (root, bpftrace)', () => {
  const MEMORY_LIMIT = 256 * 1024 * 1024;
  const CPU_QUOTA_US = 50_000;
  let cg: LimitedCgroup | undefined;
  let tracer: TestProcess;
  let samples: SampleLine[];
  let help: Map<string, string>;
  let port: number;

  beforeAll(async () => {
    // An idle process in a fresh cgroup with a memory limit and a CPU quota: nothing it does fills a series.
    cg = makeLimitedCgroup('podtrace-first-scrape', { memoryBytes: MEMORY_LIMIT, cpuQuotaUs: CPU_QUOTA_US, cpuPeriodUs: 100_000 });
    const sleeper = startProcess('sleep', 'sleep', ['600']);
    cg.join(sleeper.pid as number);
    port = await freePort();
    // :PORT is every interface (as upstream's Go server reads it), allowed here by the opt-in.
    tracer = podtrace(['--pid', String(sleeper.pid)], { PODTRACE_METRICS_ADDR: `:${port}`, OTEL_CONTRACTS_ALLOW_NON_LOOPBACK: 'true', POD_NAMESPACE: 'podtrace-test' });
    await tracer.waitForLine(/podtrace attached \d+ probes/, { stream: 'stderr', timeoutMs: 90_000 });
    // One scrape, right away: no waiting for data.
    const first = await scrape(`http://127.0.0.1:${port}/metrics`);
    ({ samples, help } = readExposition(first.text, new Set(contract.families.filter((f) => f.type === 'histogram').map((f) => f.name))));
  }, 120_000);

  afterAll(async () => {
    await stopAllProcesses();
    await cg?.remove();
  });

  it('is served on every interface, as PODTRACE_METRICS_ADDR=:PORT asks', () => {
    expect(tracer.stderr()).toContain(`"metrics":"http://0.0.0.0:${port}/metrics"`);
  });

  it('every documented family has series, each with every documented label key', () => {
    for (const f of contract.families) {
      expect(help.get(f.name), f.name).toBe(f.help);
      const series = samples.filter((s) => s.family === f.name);
      expect(series.length, `${f.name} has series in the first scrape`).toBeGreaterThan(0);
      for (const s of series) expect(Object.keys(s.labels).filter((k) => k !== 'le').sort(), `${s.name}${JSON.stringify(s.labels)}`).toEqual(f.labels.map((l) => l.name).sort());
    }
  });

  it("the traced process's series start at zero: byte counters, histograms with no observation, latest-value gauges", () => {
    const mine = { process_name: 'sleep' };
    for (const f of contract.families.filter((x) => x.labels.some((l) => l.name === 'process_name'))) {
      const series = samples.filter((s) => s.family === f.name && s.labels.process_name === 'sleep');
      expect(series.length, f.name).toBeGreaterThan(0);
      for (const s of series) expect(s.value, `${s.name}${JSON.stringify(s.labels)}`).toBe(0);
    }
    expect(find(samples, 'podtrace_network_bytes_total', mine).map((s) => s.labels.direction)).toEqual(['send', 'recv']);
    expect(find(samples, 'podtrace_fs_latency_seconds_gauge', mine).map((s) => s.labels.type)).toEqual(['read', 'write', 'fsync']);
  });

  it("the resource families come from the process's cgroup: its limits as set, usage, utilization and alert level", () => {
    const ns = { namespace: 'podtrace-test' };
    expect(total(samples, 'podtrace_resource_limit_bytes', { ...ns, resource_type: 'memory' })).toBe(MEMORY_LIMIT);
    expect(total(samples, 'podtrace_resource_limit_bytes', { ...ns, resource_type: 'cpu' })).toBe(CPU_QUOTA_US);
    for (const resource_type of ['cpu', 'memory', 'io']) expect(find(samples, 'podtrace_resource_usage_bytes', { ...ns, resource_type }), resource_type).toHaveLength(1);
    for (const resource_type of ['cpu', 'memory']) {
      expect(find(samples, 'podtrace_resource_utilization_percent', { ...ns, resource_type }), resource_type).toHaveLength(1);
      expect(find(samples, 'podtrace_resource_alert_level', { ...ns, resource_type }), resource_type).toHaveLength(1);
    }
  });

  it('otel-contracts check --contract podtrace passes on it', async () => {
    const r = await runProcess('check', NODE_BIN, [CLI, 'check', '--contract', 'podtrace', `http://127.0.0.1:${port}/metrics`], {}, { timeoutMs: 30_000 });
    expect(r.code, r.describe).toBe(0);
  });
});

describe.runIf(isRoot && bpftrace !== undefined && cgroupParent() !== undefined)('otel-contracts podtrace --cgroup on a Python workload in a fresh cgroup (root, bpftrace)', () => {
  let dir: string;
  let cg: string | undefined;
  let resolver: LoopbackResolver;
  let samples: SampleLine[];
  let bytes: { send: number; recv: number };
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'podtrace-cg-'));
    cg = makeTestCgroup('test');
    resolver = await startLoopbackResolver(dir);
    const { work, pid } = await startWorkload(resolver, join(dir, 'go'), cg);
    expect(cgroupProcs(cg)).toContain(pid);
    const port = await freePort();
    url = `http://127.0.0.1:${port}/metrics`;
    const tracer = podtrace(['--cgroup', cg], { PODTRACE_METRICS_ADDR: `127.0.0.1:${port}`, PODTRACE_EXITED_GRACE_SECONDS: String(EXITED_GRACE_SECONDS) });
    await tracer.waitForLine(/podtrace attached \d+ probes/, { stream: 'stderr', timeoutMs: 90_000 });
    writeFileSync(join(dir, 'go'), '');
    bytes = socketBytes(await work.waitForLine(DONE));
    samples = await scrapeUntil(
      url,
      'the cgroup workload in the podtrace families',
      (s) =>
        total(s, 'podtrace_filesystem_bytes_total', { operation: 'write', process_name: 'python3' }) >= 40960 &&
        total(s, 'podtrace_network_bytes_total', { direction: 'recv', process_name: 'python3' }) >= bytes.recv &&
        total(s, 'podtrace_dns_latency_seconds_histogram_count', { process_name: 'python3' }) >= DNS_OBSERVATIONS,
      { timeoutMs: 20_000, intervalMs: 500, describe: (s) => `${s.filter((x) => x.name.includes('bytes_total') || x.name.includes('dns_latency_seconds_histogram_count')).map((x) => `${x.name}${JSON.stringify(x.labels)} ${x.value}`).join('\n')}\n${tracer.describe()}` },
    );
  }, 150_000);

  afterAll(async () => {
    await stopAllProcesses();
    await removeTestCgroup(cg);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('file-write, network bytes and DNS of the processes in the cgroup arrive as with --pid', () => {
    const py = { process_name: 'python3' };
    expect(total(samples, 'podtrace_filesystem_bytes_total', { ...py, type: 'FS', operation: 'write' })).toBe(40960);
    expect(total(samples, 'podtrace_network_bytes_total', { ...py, type: 'NET', direction: 'send' })).toBe(bytes.send);
    expect(total(samples, 'podtrace_network_bytes_total', { ...py, type: 'NET', direction: 'recv' })).toBe(bytes.recv);
    expect(total(samples, 'podtrace_fs_latency_seconds_histogram_count', { ...py, type: 'FS' })).toBeGreaterThanOrEqual(21);
    expect(resolver.queriesFor(DNS_NAME), resolver.process.describe()).toBe(GETADDRINFO_CALLS + RAW_QUERIES);
    expect(total(samples, 'podtrace_dns_latency_seconds_histogram_count', { ...py, type: 'DNS' })).toBe(DNS_OBSERVATIONS);
  });

  it("an exited process's latest gauges go after the grace period; its counters and histograms stay", async () => {
    // A name of its own (prctl PR_SET_NAME), so that no other process on the host keeps it alive.
    const name = `pt-exit-${process.pid % 100_000}`;
    const file = join(dir, 'exited-write');
    const script = `import ctypes, os\nctypes.CDLL(None).prctl(15, b'${name}', 0, 0, 0)\nfd = os.open('${file}', os.O_WRONLY | os.O_CREAT, 0o600)\nos.write(fd, b'x' * 4096)\nos.fsync(fd)\nos.close(fd)\n`;
    const { command, args } = resolver.wrap(['python3', '-c', script], cg);
    const run = await runProcess('exiting writer', command, args, {}, { timeoutMs: 30_000 });
    expect(run.code, run.describe).toBe(0);
    const who = { process_name: name };
    await scrapeUntil(url, `the fsync gauge of ${name}`, (s) => find(s, 'podtrace_fs_latency_seconds_gauge', { ...who, type: 'fsync' }).length === 1, { timeoutMs: 20_000, intervalMs: 200 });
    const after = await scrapeUntil(url, `the gauges of ${name} gone`, (s) => find(s, 'podtrace_fs_latency_seconds_gauge', who).length === 0, { timeoutMs: 20_000, intervalMs: 200 });
    expect(total(after, 'podtrace_filesystem_bytes_total', { ...who, operation: 'write' })).toBe(4096);
    expect(total(after, 'podtrace_fs_latency_seconds_histogram_count', { ...who, type: 'FS' })).toBeGreaterThanOrEqual(2);
    // The workload that is still alive keeps its gauges.
    expect(find(after, 'podtrace_fs_latency_seconds_gauge', { process_name: 'python3', type: 'fsync' })).toHaveLength(1);
  }, 60_000);
});

it.runIf(isRoot && bpftrace !== undefined)('python3 is there for the kernel tests', () => {
  expect(spawnSync('python3', ['--version']).status).toBe(0);
});
