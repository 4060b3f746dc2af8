/**
 * `otel-contracts podtrace --cgroup` under process churn (a bad-input case), as root with bpftrace and
 * cgroup v2: 10 000 short-lived processes (`/bin/true`, exec'd through more distinct names than the largest
 * `process_name` series budget of the podtrace families, so each process has its own command name) started
 * one after another in a fresh cgroup. Every family stays within its series budget (past it, series fold
 * into `otel_metric_overflow="true"`, so totals are kept), every process is seen, and the tracer's memory
 * (podtrace's node and its bpftrace) stays flat. A leak check, not a timing.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { find, scrape, scrapeUntil, total, type SampleLine } from '../../test/exposition.ts';
import { freePort } from '../../test/ports.ts';
import { CLI, NODE_BIN, findProgram, startProcess, stopAllProcesses, type TestProcess } from '../../test/processes.ts';
import { podtrace as contract } from '../../semconv/generated/podtrace.ts';
import { cgroupParent, makeTestCgroup, removeTestCgroup } from './fixtures/test-cgroup.ts';

const isRoot = process.getuid?.() === 0;
const bpftrace = findProgram('bpftrace');

/** Processes started in the cgroup. */
const PROCESSES = 10_000;
/** Distinct command names: more than the largest series budget, so the budget is what bounds the series. */
const NAMES = Math.max(...contract.families.map((f) => f.maxSeries)) + 100;
/** Allowed growth of each tracer process's resident memory over the churn (a leak would grow with the process count). */
const RSS_GROWTH_BOUND = 50 * 1024 * 1024;

/** Resident memory of `pid` in bytes (VmRSS of /proc/PID/status). */
function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Series of a family in an exposition: one per label set (a histogram's by its `_count` lines). */
function seriesOf(samples: readonly SampleLine[], family: (typeof contract.families)[number]): SampleLine[] {
  return find(samples, family.instrument === 'histogram' ? `${family.name}_count` : family.name);
}

describe.runIf(isRoot && bpftrace !== undefined && cgroupParent()?.version === 2)(`otel-contracts podtrace --cgroup: ${PROCESSES} short-lived processes under ${NAMES} names (root, bpftrace, cgroup v2)`, () => {
  let dir: string;
  let cg: string | undefined;
  let tracer: TestProcess;
  let url: string;
  let pids: { node: number; bpftrace: number };
  let before: { node: number; bpftrace: number };
  let after: { node: number; bpftrace: number };
  let samples: SampleLine[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'podtrace-churn-'));
    // exec names the process after the path it was given: /bin/true under NAMES names.
    for (let i = 0; i < NAMES; i++) symlinkSync('/bin/true', join(dir, `t${i}`));
    cg = makeTestCgroup('churn');
    const port = await freePort();
    url = `http://127.0.0.1:${port}/metrics`;
    tracer = startProcess('podtrace', NODE_BIN, [CLI, 'podtrace', '--cgroup', cg], { OTEL_CONTRACTS_LOG_LEVEL: 'info', PODTRACE_METRICS_ADDR: `127.0.0.1:${port}` });
    await tracer.waitForLine(/podtrace attached \d+ probes/, { stream: 'stderr', timeoutMs: 90_000 });
    pids = { node: tracer.pid, bpftrace: Number(/"bpftracePid":(\d+)/.exec(tracer.stderr())?.[1]) };
    await scrape(url);
    before = { node: rssBytes(pids.node), bpftrace: rssBytes(pids.bpftrace) };

    // The shell moves itself into the cgroup, then runs the processes one after another (bounded in count
    // here, in time by the wait below; stopAllProcesses kills its group either way).
    const churn = startProcess('churn', 'sh', [
      '-c',
      'echo $$ > "$1/cgroup.procs" || exit 1; i=0; while [ $i -lt "$3" ]; do "$2/t$((i % $4))"; i=$((i + 1)); done; echo "churned $i"',
      'sh',
      cg,
      dir,
      String(PROCESSES),
      String(NAMES),
    ]);
    await churn.waitForLine(new RegExp(`^churned ${PROCESSES}$`), { timeoutMs: 240_000 });
    // Each process reads its ELF libc header (a regular-file read) while loading: all of them in the FS histogram.
    samples = await scrapeUntil(url, `the reads of all ${PROCESSES} processes`, (s) => total(s, 'podtrace_fs_latency_seconds_histogram_count') >= PROCESSES, {
      timeoutMs: 30_000,
      intervalMs: 500,
      describe: (s) => `fs histogram count ${total(s, 'podtrace_fs_latency_seconds_histogram_count')}\n${tracer.describe()}`,
    });
    after = { node: rssBytes(pids.node), bpftrace: rssBytes(pids.bpftrace) };
  }, 400_000);

  afterAll(async () => {
    await stopAllProcesses();
    await removeTestCgroup(cg);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every podtrace family stays within its process_name series budget, the rest in one overflow series', () => {
    for (const family of contract.families) {
      const series = seriesOf(samples, family);
      expect(series.length, family.name).toBeLessThanOrEqual(family.maxSeries + 1);
    }
    // The families every process touches went past their budget and kept the excess in the overflow series.
    for (const name of ['podtrace_fs_latency_seconds_histogram', 'podtrace_filesystem_bytes_total']) {
      const family = contract.families.find((f) => f.name === name)!;
      const series = seriesOf(samples, family);
      expect(series.length, name).toBe(family.maxSeries + 1);
      expect(series.filter((s) => s.labels.otel_metric_overflow === 'true'), name).toHaveLength(1);
    }
  });

  it('every process is seen: its regular-file reads are in the FS histogram (named or overflow)', () => {
    expect(total(samples, 'podtrace_fs_latency_seconds_histogram_count')).toBeGreaterThanOrEqual(PROCESSES);
    expect(total(samples, 'podtrace_filesystem_bytes_total', { operation: 'read' })).toBeGreaterThan(0);
  });

  it(`the tracer's memory stays flat: podtrace's node and bpftrace each grow less than ${RSS_GROWTH_BOUND / 1024 / 1024} MiB`, () => {
    const growth = { node: after.node - before.node, bpftrace: after.bpftrace - before.bpftrace };
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    const detail = `node ${mib(before.node)} → ${mib(after.node)}, bpftrace ${mib(before.bpftrace)} → ${mib(after.bpftrace)}`;
    console.log(`podtrace RSS over ${PROCESSES} processes: ${detail}`);
    expect(growth.node, detail).toBeLessThan(RSS_GROWTH_BOUND);
    expect(growth.bpftrace, detail).toBeLessThan(RSS_GROWTH_BOUND);
    expect(tracer.exitInfo(), tracer.describe()).toBeNull();
  });
});
