/**
 * What the shards hold against what a fleet sent: every series of every sidecar with the exact documented
 * name, labels and final value, every answered push stored once, each sidecar's series on exactly one
 * shard, and no name outside the contract (`target_info` included). Read from the shards' raw samples
 * (`/api/v1/export`), so nothing is hidden by query-time deduplication or lookback.
 */
import { documentedNames, promSeriesOf, samplesPerPush } from './fleet-series.ts';
import { instanceIdOf, type FleetReport } from './fleet-push.ts';
import { exportSeries, vmInstantQuery, type ExportedSeries } from './victoria-metrics.ts';

/** A series whose stored last value is not what was sent last. */
export interface FinalMismatch {
  readonly series: string;
  readonly want: number;
  readonly got: number | undefined;
}

/** The audit's findings; a clean run has every "problem" list empty and `pointsStored === pointsSent`. */
export interface FleetAudit {
  readonly seriesExpected: number;
  readonly seriesFound: number;
  /** Samples of answered pushes (one per Prometheus series per push). */
  readonly pointsSent: number;
  /** Distinct (series, timestamp) pairs stored. */
  readonly pointsStored: number;
  /** Samples stored twice with one timestamp (a retried write that had arrived). */
  readonly duplicatePoints: number;
  /** Stored samples at a timestamp no answered push had (a push given up that arrived all the same). */
  readonly unansweredPoints: number;
  readonly missingSeries: readonly string[];
  readonly finalMismatches: readonly FinalMismatch[];
  readonly seriesOnSeveralShards: number;
  readonly instancesOnSeveralShards: number;
  /** Names stored for the fleet's job that the contract does not document. */
  readonly namesOutside: readonly string[];
  /** Series whose `instance` is not their `instance_id` (the standard mapping from service.instance.id). */
  readonly instanceMismatches: number;
  /** Per documented name: the sum of every series' last value, sent and stored. */
  readonly familyTotals: Readonly<Record<string, { readonly sent: number; readonly stored: number }>>;
  /** Series and sidecars per shard, in shard order. */
  readonly perShard: readonly { readonly url: string; readonly series: number; readonly sidecars: number }[];
}

function keyOf(name: string, labels: Readonly<Record<string, string>>): string {
  const inner = Object.keys(labels)
    .filter((k) => k !== '__name__' && k !== 'job')
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${name}{${inner.join(',')}}`;
}

interface Expected {
  readonly value: number;
  readonly times: ReadonlySet<number>;
}

/** The series a fleet's answered pushes must have left, keyed as {@link keyOf} (with `instance`). */
function expectedSeries(fleet: FleetReport): Map<string, Expected> {
  const out = new Map<string, Expected>();
  for (let i = 0; i < fleet.sidecars; i++) {
    const answered = (fleet.outcomes[i] ?? []).filter((o) => o.ok);
    const last = answered.at(-1);
    if (!last) continue;
    const instance = instanceIdOf(fleet.job, i);
    const times = new Set(answered.map((o) => o.timeMs));
    for (const t of fleet.templates) {
      for (const s of promSeriesOf(t, i, last.push, instance)) out.set(keyOf(s.name, { ...s.labels, instance }), { value: s.value, times });
    }
  }
  return out;
}

function lastValue(s: ExportedSeries): number | undefined {
  let at = -1;
  let v: number | undefined;
  s.timestamps.forEach((t, n) => {
    if (t >= at) {
      at = t;
      v = s.values[n];
    }
  });
  return v;
}

/** Reads every shard's series of the fleet's job and compares them with what was sent. */
export async function auditFleet(fleet: FleetReport, shardUrls: readonly string[]): Promise<FleetAudit> {
  const expected = expectedSeries(fleet);
  const documented = documentedNames();
  const shardsOf = new Map<string, Set<number>>();
  const instanceShards = new Map<string, Set<number>>();
  const stored = new Map<string, ExportedSeries>();
  const outside = new Set<string>();
  const perShard: { url: string; series: number; sidecars: number }[] = [];
  let duplicatePoints = 0;
  let unansweredPoints = 0;
  let pointsStored = 0;
  let instanceMismatches = 0;
  for (const [n, url] of shardUrls.entries()) {
    const series = await exportSeries(url, `{job=${JSON.stringify(fleet.job)}}`);
    const sidecars = new Set<string>();
    for (const s of series) {
      const name = s.metric.__name__ ?? '';
      if (!documented.has(name)) outside.add(name);
      const instance = s.metric.instance ?? '';
      if (instance !== s.metric.instance_id) instanceMismatches++;
      sidecars.add(instance);
      (instanceShards.get(instance) ?? instanceShards.set(instance, new Set()).get(instance)!).add(n);
      const key = keyOf(name, s.metric);
      (shardsOf.get(key) ?? shardsOf.set(key, new Set()).get(key)!).add(n);
      stored.set(key, s);
      const distinct = new Set(s.timestamps);
      pointsStored += distinct.size;
      duplicatePoints += s.timestamps.length - distinct.size;
      const times = expected.get(key)?.times;
      if (times) for (const t of distinct) if (!times.has(t)) unansweredPoints++;
    }
    perShard.push({ url, series: series.length, sidecars: sidecars.size });
  }
  const missingSeries: string[] = [];
  const finalMismatches: FinalMismatch[] = [];
  const familyTotals: Record<string, { sent: number; stored: number }> = {};
  for (const [key, want] of expected) {
    const name = key.slice(0, key.indexOf('{'));
    const got = stored.get(key);
    const total = (familyTotals[name] ??= { sent: 0, stored: 0 });
    total.sent += want.value;
    if (!got) {
      missingSeries.push(key);
      continue;
    }
    const v = lastValue(got);
    total.stored += v ?? 0;
    if (v !== want.value) finalMismatches.push({ series: key, want: want.value, got: v });
  }
  const answered = fleet.outcomes.flat().filter((o) => o.ok).length;
  return {
    seriesExpected: expected.size,
    seriesFound: stored.size,
    pointsSent: answered * samplesPerPush(fleet.templates),
    pointsStored,
    duplicatePoints,
    unansweredPoints,
    missingSeries,
    finalMismatches,
    seriesOnSeveralShards: [...shardsOf.values()].filter((s) => s.size > 1).length,
    instancesOnSeveralShards: [...instanceShards.values()].filter((s) => s.size > 1).length,
    namesOutside: [...outside].sort(),
    instanceMismatches,
    familyTotals,
    perShard,
  };
}

/** The audit in a few lines, for failure messages and the bench's log (lists cut to their first entries). */
export function describeAudit(a: FleetAudit): string {
  const cut = <T>(xs: readonly T[]) => JSON.stringify(xs.slice(0, 5)) + (xs.length > 5 ? ` … (${xs.length})` : '');
  return [
    `series ${a.seriesFound}/${a.seriesExpected}, points stored ${a.pointsStored} / sent ${a.pointsSent} (duplicates ${a.duplicatePoints}, unanswered ${a.unansweredPoints})`,
    `missing ${cut(a.missingSeries)}, wrong final values ${cut(a.finalMismatches)}`,
    `on several shards: ${a.seriesOnSeveralShards} series, ${a.instancesOnSeveralShards} sidecars; names outside the contract ${JSON.stringify(a.namesOutside)}; instance != instance_id: ${a.instanceMismatches}`,
    `per shard ${JSON.stringify(a.perShard)}`,
  ].join('\n  ');
}

/** Family totals as one query endpoint (Prometheus) answers them, beside what was sent. */
export interface TotalsAudit {
  readonly familyTotals: Readonly<Record<string, { readonly sent: number; readonly stored: number }>>;
  /** Documented names whose total differs from what was sent (relative 1e-9 for float sums). */
  readonly totalsDiffering: readonly string[];
  readonly namesOutside: readonly string[];
}

/**
 * Compares the sum of every series' last value, per documented name, on one Prometheus-API endpoint with
 * what the fleet sent (for a store that keeps the latest value, not every push: Prometheus scraping the
 * single-node collector). One query per name, plus one for the names present.
 */
export async function auditTotals(fleet: FleetReport, url: string): Promise<TotalsAudit> {
  const job = JSON.stringify(fleet.job);
  const sent: Record<string, number> = {};
  for (const [key, want] of expectedSeries(fleet)) {
    const name = key.slice(0, key.indexOf('{'));
    sent[name] = (sent[name] ?? 0) + want.value;
  }
  const familyTotals: Record<string, { sent: number; stored: number }> = {};
  const totalsDiffering: string[] = [];
  for (const [name, total] of Object.entries(sent)) {
    const stored = (await vmInstantQuery(url, `sum(last_over_time(${name}{job=${job}}[15m]))`))[0]?.value ?? 0;
    familyTotals[name] = { sent: total, stored };
    if (Math.abs(stored - total) > 1e-9 * Math.max(1, Math.abs(total))) totalsDiffering.push(name);
  }
  const documented = documentedNames();
  const present = await vmInstantQuery(url, `count by (__name__) ({job=${job}})`);
  return { familyTotals, totalsDiffering, namesOutside: present.map((s) => s.metric.__name__ ?? '').filter((n) => !documented.has(n)).sort() };
}
