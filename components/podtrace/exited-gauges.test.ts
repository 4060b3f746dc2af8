import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from '../../instrumentation/pipeline.ts';
import { podtrace } from '../../semconv/generated/podtrace.ts';
import { find, parseExposition } from '../../test/exposition.ts';
import { delay, pollUntil } from '../../test/poll.ts';
import { removeExitedGauges } from './exited-gauges.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A /proc with one process per name (`<pid>/comm`), as the kernel writes it (a trailing newline). */
function fakeProc(names: Record<number, string>): { dir: string; exit(pid: number): void } {
  const dir = mkdtempSync(join(tmpdir(), 'proc-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  for (const [pid, comm] of Object.entries(names)) {
    mkdirSync(join(dir, pid));
    writeFileSync(join(dir, pid, 'comm'), `${comm}\n`);
  }
  return { dir, exit: (pid) => rmSync(join(dir, String(pid)), { recursive: true }) };
}

function pipeline(): Pipeline {
  const p = createPipeline({ contracts: [podtrace], serviceName: 'podtrace', env: { OTEL_CONTRACTS_LOG_LEVEL: 'silent', OTEL_METRICS_EXPORTER: 'prometheus' } });
  cleanups.push(() => p.shutdown(1000));
  return p;
}

describe("exited processes' latest gauges", () => {
  it('go after the grace period once no process carries the name; histograms, counters and live names stay', async () => {
    const proc = fakeProc({ 100: 'python3', 200: 'nginx' });
    const p = pipeline();
    const removed: string[] = [];
    const sweeper = removeExitedGauges(p.recorders(podtrace), { pipeline: p, graceMs: 300, proc: proc.dir, onRemoved: (n) => removed.push(n) });
    cleanups.push(() => sweeper.stop());
    const rec = sweeper.recorders;
    for (const name of ['python3', 'nginx']) {
      rec.podtrace_rtt_latest_seconds.record(0.002, { type: 'NET', process_name: name });
      rec.podtrace_fs_latency_seconds_gauge.record(0.0001, { type: 'write', process_name: name });
      rec.podtrace_rtt_seconds.record(0.002, { type: 'NET', process_name: name });
      rec.podtrace_network_bytes_total.add(512, { type: 'NET', process_name: name, direction: 'send' });
    }
    // Alive longer than the grace period: nothing is removed.
    await delay(700);
    expect(removed).toEqual([]);
    expect(find(parseExposition(await p.render()), 'podtrace_rtt_latest_seconds')).toHaveLength(2);

    proc.exit(100);
    await pollUntil('python3 removed', async () => removed.includes('python3'), (done) => done, { timeoutMs: 5000, intervalMs: 50 });
    const samples = parseExposition(await p.render());
    expect(find(samples, 'podtrace_rtt_latest_seconds', { process_name: 'python3' })).toEqual([]);
    expect(find(samples, 'podtrace_fs_latency_seconds_gauge', { process_name: 'python3' })).toEqual([]);
    expect(find(samples, 'podtrace_rtt_seconds_count', { process_name: 'python3' })[0]?.value).toBe(1);
    expect(find(samples, 'podtrace_network_bytes_total', { process_name: 'python3' })[0]?.value).toBe(512);
    expect(find(samples, 'podtrace_rtt_latest_seconds', { process_name: 'nginx' })[0]?.value).toBe(0.002);
    expect(removed).toEqual(['python3']);

    // A new value for the name brings its gauge back.
    rec.podtrace_rtt_latest_seconds.record(0.003, { type: 'NET', process_name: 'python3' });
    expect(find(parseExposition(await p.render()), 'podtrace_rtt_latest_seconds', { process_name: 'python3' })[0]?.value).toBe(0.003);
  });

  it('a name recorded but never seen alive (a process shorter than a sweep) also goes after the grace period', async () => {
    const proc = fakeProc({ 300: 'sh' });
    const p = pipeline();
    const sweeper = removeExitedGauges(p.recorders(podtrace), { pipeline: p, graceMs: 200, proc: proc.dir });
    cleanups.push(() => sweeper.stop());
    sweeper.recorders.podtrace_cpu_block_seconds_gauge.record(0.0004, { type: 'CPU', process_name: 'true' });
    expect(find(parseExposition(await p.render()), 'podtrace_cpu_block_seconds_gauge', { process_name: 'true' })).toHaveLength(1);
    await pollUntil('gauge of "true" removed', async () => find(parseExposition(await p.render()), 'podtrace_cpu_block_seconds_gauge').length, (n) => n === 0, {
      timeoutMs: 5000,
      intervalMs: 50,
    });
  });
});
