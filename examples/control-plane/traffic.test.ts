/**
 * The traffic script against the real app on real PostgreSQL: it drives every endpoint as expected,
 * after it every trc family of sections A, B and C has real series (counters and histograms above
 * zero, gauges present), and `otel-contracts check --contract trc` is clean for the control-plane and
 * projections components.
 */
import { expect, it } from 'vitest';
import { trc } from '../../index.ts';
import { find, scrapeUntil, total, type SampleLine } from '../../test/exposition.ts';
import type { TestPostgres } from '../../test/postgres.ts';
import { CLI, runNode } from '../../test/processes.ts';
import { useAppOnDatabase } from './testing/app-on-database.ts';
import type { RunningControlPlane } from './testing/harness.ts';

let db: TestPostgres;
let cp: RunningControlPlane;
useAppOnDatabase((running) => ({ db, cp } = running));

/** The trc families of sections A, B and C (control plane API, event append and commands, projections). */
const FAMILIES = trc.families.filter((f) => /^[ABC]\)/.test(f.section));

/** Why `s` does not yet show a family with real data, or undefined when it does. */
function missing(s: readonly SampleLine[], f: (typeof FAMILIES)[number]): string | undefined {
  if (f.type === 'histogram') return total(s, `${f.name}_count`) > 0 ? undefined : `${f.name}: no observation`;
  if (f.type === 'counter') return total(s, f.name) > 0 ? undefined : `${f.name}: zero`;
  return find(s, f.name).length > 0 ? undefined : `${f.name}: no series`;
}

it('traffic.ts drives every endpoint; every trc family of sections A, B and C then has real series, and the check is clean', async () => {
  expect(FAMILIES.length).toBe(21); // A: 10, B: 6, C: 5
  const run = await runNode('traffic', ['examples/control-plane/traffic.ts', '--api', cp.base, '--rounds', '2', '--database-url', db.url], {}, 60_000);
  expect(run.code, run.describe).toBe(0);
  const summary = JSON.parse(run.stdout) as { rounds: number; unexpected: string[]; answers: Record<string, number> };
  expect(summary.rounds).toBe(2);
  expect(summary.unexpected).toEqual([]);
  expect(summary.answers['POST /oauth/token 200']).toBe(6);

  const s = await scrapeUntil(cp.metricsUrl, 'real series in every family of sections A, B and C', (x) => FAMILIES.every((f) => missing(x, f) === undefined) && (find(x, 'trc_projection_last_applied_event_id', { projection: 'apps' })[0]?.value ?? 0) > 0, {
    timeoutMs: 20_000,
    describe: (x) => FAMILIES.map((f) => missing(x, f)).filter(Boolean).join('; ') || 'checkpoints not read yet',
  });
  expect(total(s, 'trc_projection_errors_total', { projection: 'apps' })).toBeGreaterThanOrEqual(1); // the poison event
  expect(total(s, 'trc_projection_rebuilds_total')).toBe(2);
  expect(find(s, 'trc_http_requests_total').every((x) => x.labels.path_template?.startsWith('/') || x.labels.path_template === 'unmatched')).toBe(true);

  for (const component of ['control-plane', 'projections']) {
    const check = await runNode(`check ${component}`, [CLI, 'check', cp.metricsUrl, '--contract', 'trc', '--component', component], {}, 60_000);
    expect(check.code, check.describe).toBe(0);
    expect(check.stdout).toMatch(/OK: no violations/);
  }
}, 120_000);
