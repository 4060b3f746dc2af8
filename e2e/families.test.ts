/**
 * Every family of every contract reaches Prometheus both ways, identically: by direct scrape of a
 * `sample --contract all` on 127.0.0.1:9464 (job "sample") and through the collector from a second
 * `sample --contract all` pushing OTLP (job "x"). Same documented names, documented label keys,
 * same series and values.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { STACK_PORTS } from '../otel-config/stack.ts';
import { componentContracts } from '../semconv/index.ts';
import type { ContractSpec } from '../semconv/types.ts';
import { documentedSeriesNames, seriesKey } from './support/documented-series.ts';
import { pollUntil } from '../test/poll.ts';
import { assertPortFree } from '../test/ports.ts';
import { CLI, startNode, stopAllProcesses } from '../test/processes.ts';
import { instantQuery, promString, type PromSample } from './support/prometheus.ts';
import { useStack } from './support/stack.ts';

const contracts: ContractSpec[] = Object.values(componentContracts);
const documented = documentedSeriesNames(contracts);
const prefixes = contracts.map((c) => c.prefix);

useStack();
afterAll(() => stopAllProcesses());

/** The job's series under any contract prefix (target_info, ALERTS, self-metrics and `up` left out). */
async function contractSeries(job: string): Promise<PromSample[]> {
  const all = await instantQuery(`{job=${promString(job)}}`);
  return all.filter((s) => prefixes.some((p) => (s.metric.__name__ ?? '').startsWith(p)));
}

function missingNames(series: readonly PromSample[]): string[] {
  const seen = new Set(series.map((s) => s.metric.__name__));
  return [...documented.keys()].filter((n) => !seen.has(n));
}

function byKey(series: readonly PromSample[]): Map<string, string> {
  return new Map(series.map((s) => [seriesKey(s.metric), s.value]));
}

function diff(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (!b.has(k)) out.push(`only in sample: ${k} ${v}`);
  for (const [k, v] of b) if (!a.has(k)) out.push(`only in x: ${k} ${v}`);
  return out;
}

describe('every documented family, by direct scrape and through the collector', () => {
  it('reaches Prometheus under its documented name, with its documented labels and the same values both ways', async () => {
    await assertPortFree(9464, "`sample`'s /metrics, scraped by Prometheus as job \"sample\"");
    const familyCount = contracts.reduce((n, c) => n + c.families.length, 0);
    expect(familyCount).toBe(136);

    const direct = startNode('sample (scraped)', [CLI, 'sample', '--contract', 'all']);
    const pushed = startNode('sample (pushing)', [CLI, 'sample', '--contract', 'all'], {
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${STACK_PORTS.otlpHttp}`,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      OTEL_SERVICE_NAME: 'x',
    });
    const procs = () => `${direct.describe()}\n${pushed.describe()}`;

    // Direct scrape: one scrape carries every series at once.
    const scraped = await pollUntil(
      'every documented series name under job="sample"',
      () => contractSeries('sample'),
      (s) => missingNames(s).length === 0,
      { describe: (s) => `${s.length} series; missing ${missingNames(s).slice(0, 20).join(', ')}\n${procs()}` },
    );
    const want = byKey(scraped);
    // Collector path: wait until job x holds exactly the same series as job sample.
    const viaCollector = await pollUntil(
      'job="x" (through the collector) to hold the same series as job="sample"',
      () => contractSeries('x'),
      (s) => diff(want, byKey(s)).length === 0,
      { describe: (s) => `${s.length} series (sample: ${want.size}); ${diff(want, byKey(s)).slice(0, 20).join('\n    ')}\n${procs()}` },
    );

    for (const [job, series] of [['sample', scraped], ['x', viaCollector]] as const) {
      // Only documented names under the contract prefixes: no renamed or suffixed family.
      const undocumented = [...new Set(series.map((s) => s.metric.__name__ as string))].filter((n) => !documented.has(n));
      expect(undocumented, `job="${job}": names under a contract prefix that no contract documents`).toEqual([]);
      expect(missingNames(series), `job="${job}": documented series names missing`).toEqual([]);

      // Label keys: the documented ones (plus the contract's instance labels), required ones present.
      const badLabels: string[] = [];
      for (const s of series) {
        const name = s.metric.__name__ as string;
        const { contract, family } = documented.get(name)!;
        const allowed = new Set([...family.labels.map((l) => l.name), ...contract.instanceLabels.map((l) => l.name), 'job', 'instance', '__name__']);
        if (name.endsWith('_bucket') && family.type === 'histogram') allowed.add('le');
        const keys = Object.keys(s.metric);
        const extra = keys.filter((k) => !allowed.has(k));
        const absent = family.labels.filter((l) => l.required && !(l.name in s.metric)).map((l) => l.name);
        if (name.endsWith('_bucket') && !('le' in s.metric)) absent.push('le');
        if (extra.length || absent.length) badLabels.push(`${seriesKey(s.metric)}: undocumented ${extra.join(',') || '-'}; required but absent ${absent.join(',') || '-'}`);
      }
      expect(badLabels, `job="${job}": series whose label keys break the contract`).toEqual([]);
    }

    // Same series and the same values both ways (job/instance aside).
    const got = byKey(viaCollector);
    const valueDiffs = [...want].filter(([k, v]) => got.get(k) !== v).map(([k, v]) => `${k}: sample ${v}, x ${got.get(k)}`);
    expect(diff(want, got)).toEqual([]);
    expect(valueDiffs, 'values that differ between the direct scrape and the collector path').toEqual([]);

    // Every one of the 136 families is covered on both paths.
    const families = (series: readonly PromSample[]) => new Set(series.map((s) => documented.get(s.metric.__name__ as string)!.family.name));
    expect(families(scraped).size).toBe(136);
    expect(families(viaCollector).size).toBe(136);
  });
});
