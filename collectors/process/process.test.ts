import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createPipeline } from '../../instrumentation/pipeline.ts';
import { process as processContract } from '../../semconv/generated/process.ts';
import { FIXTURES, runApp } from '../../preload/testing/harness.ts';
import { find, parseExposition, scrape, type SampleLine } from '../../test/exposition.ts';
import { freePort } from '../../test/ports.ts';
import { CLI, startNode, stopAllProcesses } from '../../test/processes.ts';
import { spawnSidecar } from '../../components/egress-sidecar/testing/child.ts';
import { processMetrics } from './index.ts';
import { maxOpenFiles, parseStat } from './read.ts';

afterEach(() => stopAllProcesses());

const FAMILIES = ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_virtual_memory_bytes', 'process_start_time_seconds', 'process_open_fds', 'process_max_fds'];

/** The one unlabelled sample of `name`. */
function value(samples: readonly SampleLine[], name: string): number {
  const s = find(samples, name);
  expect(s, name).toHaveLength(1);
  return s[0]!.value;
}

describe('the standard process families of a preloaded app, read from /proc/self at each scrape', () => {
  it('are exposed with their client-library names, types and HELP, with plausible values', async () => {
    const app = runApp(`${FIXTURES}/busy-app.cjs`, { OTEL_CONTRACTS_COLLECTORS: 'none' });
    const [{ pid }, startup] = await Promise.all([app.ready, app.startup]);
    expect(startup.processMetrics).toBe('/proc/self');
    const { text, samples } = await scrape(startup.scrapeUrl as string);
    for (const f of processContract.families) {
      expect(text).toContain(`# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`);
      expect(find(samples, f.name), f.name).toHaveLength(1);
    }
    expect(processContract.families.map((f) => f.name)).toEqual(FAMILIES);

    const proc = `/proc/${pid as number}`;
    const rss = value(samples, 'process_resident_memory_bytes');
    expect(rss).toBeGreaterThan(10 * 2 ** 20); // a Node process holds tens of MiB
    expect(value(samples, 'process_virtual_memory_bytes')).toBeGreaterThan(rss);
    const start = value(samples, 'process_start_time_seconds');
    expect(start).toBeLessThanOrEqual(Date.now() / 1000);
    expect(start).toBeGreaterThan(Date.now() / 1000 - 600);
    // The app's own limit and descriptor table, read from outside.
    expect(value(samples, 'process_max_fds')).toBe(maxOpenFiles(readFileSync(`${proc}/limits`, 'utf8')));
    const open = value(samples, 'process_open_fds');
    expect(open).toBeGreaterThan(3);
    expect(Math.abs(open - readdirSync(`${proc}/fd`).length)).toBeLessThanOrEqual(4);
  });

  it('CPU seconds rise by at least the CPU time a busy loop burns between two scrapes', async () => {
    const app = runApp(`${FIXTURES}/busy-app.cjs`, { OTEL_CONTRACTS_COLLECTORS: 'none' });
    const [{ port, pid }, startup] = await Promise.all([app.ready, app.startup]);
    const before = value((await scrape(startup.scrapeUrl as string)).samples, 'process_cpu_seconds_total');
    const burnt = Number(await (await fetch(`http://127.0.0.1:${port as number}/busy?cpu_ms=600`)).text()) / 1e6;
    expect(burnt).toBeGreaterThanOrEqual(0.6);
    const after = value((await scrape(startup.scrapeUrl as string)).samples, 'process_cpu_seconds_total');
    // /proc times tick every 10 ms: allow two ticks of rounding.
    expect(after - before).toBeGreaterThanOrEqual(burnt - 0.02);
    const stat = parseStat(readFileSync(`/proc/${pid as number}/stat`, 'utf8'));
    // The counter is a sum of float deltas (0.3 + 0.37 = 0.6700000000000002): allow that rounding, not a tick.
    expect(after).toBeLessThanOrEqual((stat.utime + stat.stime) / 100 + 1e-9);
  });

  it('OTEL_CONTRACTS_PROCESS_METRICS=false leaves every process family out', async () => {
    const app = runApp(`${FIXTURES}/busy-app.cjs`, { OTEL_CONTRACTS_COLLECTORS: 'none', OTEL_CONTRACTS_PROCESS_METRICS: 'false' });
    const startup = await app.startup;
    expect(startup.processMetrics).toBe('off');
    const { text } = await scrape(startup.scrapeUrl as string);
    expect(text).not.toMatch(/^# TYPE process_/m);
    expect(text).toMatch(/^# TYPE podtrace_/m);
  });
});

describe('every component exports them', () => {
  it('`otel-contracts sample` serves the six families beside its contract', async () => {
    const port = await freePort();
    const p = startNode('sample', [CLI, 'sample', '--contract', 'egress', '--listen', `127.0.0.1:${port}`]);
    await p.waitForLine(/sample serving/, { stream: 'stderr' });
    const { samples } = await scrape(`http://127.0.0.1:${port}/metrics`);
    for (const f of FAMILIES) expect(find(samples, f), f).toHaveLength(1);
    expect(find(samples, 'opensandbox_egress_dns_queries_total').length).toBeGreaterThan(0);
  });

  it('the egress sidecar serves the six families on its /metrics', async () => {
    const s = await spawnSidecar(['--dns-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--upstream', '127.0.0.1:9'], { OPENSANDBOX_EGRESS_INSTANCE_ID: 'proc-test' });
    try {
      const { samples } = await scrape(s.metricsUrl);
      for (const f of FAMILIES) expect(find(samples, f), f).toHaveLength(1);
    } finally {
      await s.stop();
    }
  });
});

describe('bad input: what cannot be read is left out, with one log line, and nothing else breaks', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    return { logger: pino({ level: 'info' }, stream), lines };
  };
  const build = (procRoot: string, maxOpenFds?: number) => {
    const { logger, lines } = capture();
    const proc = processMetrics({}, { procRoot, maxOpenFds });
    const pipeline = createPipeline({ contracts: proc.contracts, serviceName: 'process-test', env: {}, logger });
    proc.start(pipeline);
    return { pipeline, lines, proc };
  };

  it('no procfs: the families are not in the pipeline, one line says why, the exposition still renders', async () => {
    const { pipeline, lines, proc } = build('/nonexistent-proc');
    expect(proc.contracts).toEqual([]);
    const text = await pipeline.render();
    await pipeline.render();
    expect(text).not.toContain('process_');
    expect(text).toContain('# TYPE otel_contracts_exports_total counter');
    expect(lines.filter((l) => /process metrics/.test(String(l.msg)))).toHaveLength(1);
    await pipeline.shutdown();
  });

  it('a descriptor table above the bound, and an unreadable file: those values are left out, the others stay, one line in all', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fake-proc-'));
    dirs.push(root);
    mkdirSync(join(root, 'self', 'fd'), { recursive: true });
    for (let i = 0; i < 50; i++) writeFileSync(join(root, 'self', 'fd', String(i)), '');
    // comm with a space and a parenthesis; utime 250, stime 50, starttime 1000 ticks.
    const fields = ['S', ...Array.from({ length: 10 }, () => '0'), '250', '50', ...Array.from({ length: 6 }, () => '0'), '1000', '0'];
    writeFileSync(join(root, 'self', 'stat'), `42 (my (app) x) ${fields.join(' ')}\n`);
    writeFileSync(join(root, 'stat'), 'cpu  1 2 3\nbtime 1700000000\n');
    writeFileSync(join(root, 'self', 'status'), 'Name:\tx\nVmSize:\t  2048 kB\nVmRSS:\t  1024 kB\n');
    // No self/limits file.
    const { pipeline, lines } = build(root, 10);
    const first = parseExposition(await pipeline.render());
    expect(value(first, 'process_cpu_seconds_total')).toBe(3);
    expect(value(first, 'process_start_time_seconds')).toBe(1_700_000_010);
    expect(value(first, 'process_resident_memory_bytes')).toBe(1024 * 1024);
    expect(value(first, 'process_virtual_memory_bytes')).toBe(2048 * 1024);
    expect(find(first, 'process_open_fds')).toEqual([]);
    expect(find(first, 'process_max_fds')).toEqual([]);
    // The counter grows by what the ticks grew; the problems are not logged again.
    fields[11] = '350';
    writeFileSync(join(root, 'self', 'stat'), `42 (my (app) x) ${fields.join(' ')}\n`);
    expect(value(parseExposition(await pipeline.render()), 'process_cpu_seconds_total')).toBe(4);
    const logged = lines.filter((l) => /process metrics/.test(String(l.msg)));
    expect(logged).toHaveLength(1);
    expect(JSON.stringify(logged[0]!.problems)).toMatch(/fd: too large: more than 10 entries.*limits/);
    await pipeline.shutdown();
  });
});
