/**
 * A thousand pushers: 1000 short-lived egress sidecar stand-ins, started in waves of 50, each with its own
 * OPENSANDBOX_EGRESS_INSTANCE_ID, each records K measurements and is stopped with SIGTERM inside its first
 * export interval, so only the final push on exit can deliver them. Through the real collector, Prometheus
 * must show exactly 1000·K and 1000 distinct instances. Reports the collector's and Prometheus' peak RSS
 * and the wall time.
 *
 * The fixture (e2e/fixtures/egress-pusher.ts, the short-lived fixture's pattern on the egress contract) is
 * bundled into one file first: a Node process then starts in about a third of the CPU time that stripping
 * types and loading a hundred modules costs, which is most of what a thousand starts cost on two cores.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'rolldown';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PartName } from '../otel-config/stack.ts';
import { pollUntil } from '../test/poll.ts';
import { REPO_ROOT, stopAllProcesses } from '../test/processes.ts';
import { pushAndStop } from './support/pushers.ts';
import { promString, scalarQuery } from './support/prometheus.ts';
import { rssBytes } from './support/rss.ts';
import { useStack } from './support/stack.ts';

// OTEL_CONTRACTS_E2E_PUSHERS runs fewer (a wave or two) when measuring locally; never more than 1000.
const PUSHERS = Math.min(1000, Number(process.env.OTEL_CONTRACTS_E2E_PUSHERS) || 1000);
const WAVE = 50;
const K = 7;
const FIXTURE = join(REPO_ROOT, 'e2e', 'fixtures', 'egress-pusher.ts');

const stack = useStack();
let buildDir: string | undefined;
let bundle = '';

beforeAll(async () => {
  buildDir = mkdtempSync(join(tmpdir(), 'thousand-pushers-'));
  bundle = join(buildDir, 'egress-pusher.mjs');
  await build({ input: FIXTURE, platform: 'node', logLevel: 'warn', output: { format: 'esm', file: bundle, codeSplitting: false } });
});
afterAll(async () => {
  await stopAllProcesses();
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

/** The pid of a stack part, from its PID file in the stack's state directory. */
function partPid(name: PartName): number {
  return (JSON.parse(readFileSync(join(stack.stateDir(), `${name}.json`), 'utf8')) as { pid: number }).pid;
}

/** VmHWM (peak resident set since the process started) of `pid`, in bytes. */
function peakRssBytes(pid: number): number {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/status has no VmHWM line`);
  return Number(m[1]) * 1024;
}

const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;

describe('a thousand pushers', () => {
  it(`${PUSHERS} processes in waves of ${WAVE}, ${K} measurements each, stopped inside one export interval: exactly ${PUSHERS}·${K} and ${PUSHERS} instances`, async () => {
    const job = `thousand-${randomUUID().slice(0, 8)}`;
    const watched = { collector: partPid('collector'), prometheus: partPid('prometheus') };
    // Sampled while the test runs (VmRSS), beside the kernel's own high-water mark read at the end.
    const sampledPeak = { collector: 0, prometheus: 0 };
    const sample = () => {
      for (const part of ['collector', 'prometheus'] as const) {
        try {
          sampledPeak[part] = Math.max(sampledPeak[part], rssBytes(watched[part]));
        } catch {
          // gone: the assertions below say so
        }
      }
    };
    sample();
    const sampler = setInterval(sample, 250);
    const t0 = performance.now();
    const waveMs: number[] = [];
    try {
      for (let start = 0; start < PUSHERS; start += WAVE) {
        const w0 = performance.now();
        await pushAndStop(bundle, job, Math.min(WAVE, PUSHERS - start), (i) => ({ OPENSANDBOX_EGRESS_INSTANCE_ID: `${job}-${i}`, E2E_K: String(K) }), start, 60_000);
        waveMs.push(performance.now() - w0);
      }
      const pushedMs = performance.now() - t0;

      const sel = `{job=${promString(job)}, result="allowed"}`;
      const read = async () => ({
        instances: await scalarQuery(`count(count by (instance_id) (opensandbox_egress_dns_queries_total${sel}))`),
        counterSum: await scalarQuery(`sum(opensandbox_egress_dns_queries_total${sel})`),
        histogramCount: await scalarQuery(`sum(opensandbox_egress_dns_forward_duration_seconds_count{job=${promString(job)}})`),
      });
      const want = { instances: PUSHERS, counterSum: PUSHERS * K, histogramCount: PUSHERS * K };
      const got = await pollUntil(
        `Prometheus to show ${PUSHERS} instances with ${PUSHERS * K} measurements for job="${job}"`,
        read,
        (v) => v.instances === want.instances && v.counterSum === want.counterSum && v.histogramCount === want.histogramCount,
        { timeoutMs: 120_000, describe: (v) => JSON.stringify(v) },
      );
      const wallMs = performance.now() - t0;
      expect(got).toEqual(want);

      sample();
      const report = {
        pushers: PUSHERS,
        wave: WAVE,
        k: K,
        wallSeconds: Math.round(wallMs / 100) / 10,
        pushedSeconds: Math.round(pushedMs / 100) / 10,
        waveSeconds: { first: Math.round(waveMs[0]! / 100) / 10, max: Math.round(Math.max(...waveMs) / 100) / 10 },
        collectorPeakRssMiB: { sampled: mib(sampledPeak.collector), vmHWM: mib(peakRssBytes(watched.collector)) },
        prometheusPeakRssMiB: { sampled: mib(sampledPeak.prometheus), vmHWM: mib(peakRssBytes(watched.prometheus)) },
      };
      console.log(`thousand pushers: ${JSON.stringify(report)}`);
    } finally {
      clearInterval(sampler);
    }
  });
});
