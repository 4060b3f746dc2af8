/**
 * Short-lived processes lose nothing: 20 processes each record K measurements and are stopped with
 * SIGTERM inside their first export interval, so only the final push on exit can deliver them.
 * Prometheus (through the collector) must show exactly 20·K.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pushAndStop } from './support/pushers.ts';
import { pollUntil } from '../test/poll.ts';
import { REPO_ROOT, stopAllProcesses } from '../test/processes.ts';
import { promString, scalarQuery } from './support/prometheus.ts';
import { useStack } from './support/stack.ts';

const PROCESSES = 20;
const K = 37;
const FIXTURE = join(REPO_ROOT, 'e2e', 'fixtures', 'short-lived.ts');

useStack();
afterAll(() => stopAllProcesses());

describe('short-lived processes and the final push', () => {
  it(`${PROCESSES} processes x ${K} measurements, stopped inside one export interval: exactly ${PROCESSES}·${K} in Prometheus`, async () => {
    const job = `short-lived-${randomUUID().slice(0, 8)}`;
    await pushAndStop(FIXTURE, job, PROCESSES, () => ({ E2E_K: String(K) }));

    const sel = `{job=${promString(job)}}`;
    const read = async () => ({
      instances: await scalarQuery(`count(masque_vpn_total_connections${sel})`),
      counterSum: await scalarQuery(`sum(masque_vpn_total_connections${sel})`),
      histogramCount: await scalarQuery(`sum(masque_vpn_connection_duration_seconds_count${sel})`),
    });
    const want = { instances: PROCESSES, counterSum: PROCESSES * K, histogramCount: PROCESSES * K };
    const got = await pollUntil(
      `Prometheus to show ${PROCESSES} instances with ${PROCESSES * K} measurements for job="${job}"`,
      read,
      (v) => v.instances === want.instances && v.counterSum === want.counterSum && v.histogramCount === want.histogramCount,
      { timeoutMs: 60_000 },
    );
    expect(got).toEqual(want);
  });
});
