/**
 * The panel queries of one family, by its Prometheus type: a per-second rate for counters,
 * `histogram_quantile` over `_bucket` for histograms (p50, p95, p99), the last value for gauges.
 * Every query filters on the dashboard variables that apply to the family.
 */
import { instanceLabelsOf } from '../../semconv/index.ts';
import type { ContractSpec, FamilySpec } from '../../semconv/types.ts';

/** One target of a panel. */
export interface PanelQuery {
  readonly refId: string;
  readonly expr: string;
  readonly legend: string;
}

/** The quantiles a histogram panel shows. */
export const HISTOGRAM_QUANTILES = [0.5, 0.95, 0.99] as const;

/** The scrape job, a label of every series: every dashboard offers it as its first variable. */
export const JOB_VARIABLE = 'job';

/** The labels `family` carries: the contract's instance labels that go on it, then its own. */
export function labelNames(contract: ContractSpec, family: FamilySpec): string[] {
  return [...instanceLabelsOf(contract, family.name).map((l) => l.name), ...family.labels.map((l) => l.name)];
}

/** `name{label=~"$label", ...}` for each dashboard variable the family carries. */
export function familySelector(contract: ContractSpec, family: FamilySpec, variables: readonly string[], suffix = ''): string {
  const carried = new Set([JOB_VARIABLE, ...labelNames(contract, family)]);
  const matchers = variables.filter((v) => carried.has(v)).map((v) => `${v}=~"$${v}"`);
  return `${family.name}${suffix}${matchers.length ? `{${matchers.join(', ')}}` : ''}`;
}

function sumBy(labels: readonly string[], inner: string): string {
  return labels.length ? `sum by (${labels.join(', ')}) (${inner})` : `sum(${inner})`;
}

function legendOf(labels: readonly string[], fallback: string): string {
  return labels.length ? labels.map((l) => `{{${l}}}`).join(' ') : fallback;
}

/** The queries of the panel that shows `family`, with Grafana's `$__rate_interval` and the dashboard's variables. */
export function familyQueries(contract: ContractSpec, family: FamilySpec, variables: readonly string[]): PanelQuery[] {
  const labels = labelNames(contract, family);
  switch (family.type) {
    case 'counter':
      return [{ refId: 'A', expr: sumBy(labels, `rate(${familySelector(contract, family, variables)}[$__rate_interval])`), legend: legendOf(labels, 'per second') }];
    case 'histogram':
      return HISTOGRAM_QUANTILES.map((q, i) => ({
        refId: String.fromCharCode(65 + i),
        expr: `histogram_quantile(${q}, ${sumBy(['le', ...labels], `rate(${familySelector(contract, family, variables, '_bucket')}[$__rate_interval])`)})`,
        legend: `p${Math.round(q * 100)} ${legendOf(labels, '')}`.trim(),
      }));
    case 'gauge':
      return [{ refId: 'A', expr: familySelector(contract, family, variables), legend: legendOf(labels, family.name) }];
  }
}
