/**
 * Builders for the usual alert shapes (a counter's rate, an error ratio, a histogram quantile, a
 * gauge against a level), each with the promtool cases in which it fires and stays quiet.
 * Test series use one-minute steps over 20 minutes (see rules.ts for the evaluation time).
 */
import type { AlertSpec, Severity, TestSeries } from './layout.ts';

/** Fields every builder takes. */
interface Common {
  readonly alert: string;
  readonly group: string;
  readonly family: string;
  readonly severity: Severity;
  readonly summary: string;
  readonly for?: string;
  /** Labels the query keeps (`sum by`), with the value the test series carry. */
  readonly by?: Readonly<Record<string, string>>;
}

function series(name: string, labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return pairs.length ? `${name}{${pairs.join(', ')}}` : name;
}

function matchers(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return pairs.length ? `{${pairs.join(', ')}}` : '';
}

function sumBy(by: Readonly<Record<string, string>>, inner: string): string {
  const keys = Object.keys(by);
  return keys.length ? `sum by (${keys.join(', ')}) (${inner})` : `sum(${inner})`;
}

/** A counter increasing `perMinute` per minute for 20 minutes. */
function counter(name: string, labels: Readonly<Record<string, string>>, perMinute: number): TestSeries {
  return { series: series(name, labels), values: `0+${perMinute}x20` };
}

/** A gauge holding `value` for 20 minutes. */
function gauge(name: string, labels: Readonly<Record<string, string>>, value: number): TestSeries {
  return { series: series(name, labels), values: `${value}+0x20` };
}

function common(o: Common): Pick<AlertSpec, 'alert' | 'group' | 'family' | 'severity' | 'summary' | 'for'> {
  return { alert: o.alert, group: o.group, family: o.family, severity: o.severity, summary: o.summary, ...(o.for ? { for: o.for } : {}) };
}

/**
 * Fires when a counter's per-second rate over 5 minutes (summed by `by`) exceeds `threshold`;
 * `only` narrows it to some label values (`{reason: "no_client"}`).
 */
export function rateAbove(o: Common & { readonly only?: Readonly<Record<string, string>>; readonly threshold: number }): AlertSpec {
  const by = o.by ?? {};
  const only = o.only ?? {};
  const firing = Math.ceil((o.threshold + 1) * 60);
  return {
    ...common(o),
    query: sumBy(by, `rate(${o.family}${matchers(only)}[5m])`),
    comparison: '>',
    threshold: o.threshold,
    fires: { input: [counter(o.family, { ...only, ...by }, firing)], labels: by },
    quiet: { input: [counter(o.family, { ...only, ...by }, 0)] },
  };
}

/**
 * Fires when the share of a counter's rate carrying `bad` labels exceeds `threshold` (< 0.5).
 * `good` labels a healthy series for the tests; `badMatcher` replaces the equality matchers of
 * `bad` in the query (`status=~"5.."`).
 */
export function ratioAbove(
  o: Common & { readonly bad: Readonly<Record<string, string>>; readonly good: Readonly<Record<string, string>>; readonly badMatcher?: string; readonly threshold: number },
): AlertSpec {
  if (!(o.threshold < 0.5)) throw new Error(`${o.alert}: ratioAbove's test cases need a threshold below 0.5, got ${o.threshold}`);
  const by = o.by ?? {};
  const badSelector = o.badMatcher ? `{${o.badMatcher}}` : matchers(o.bad);
  return {
    ...common(o),
    query: `${sumBy(by, `rate(${o.family}${badSelector}[5m])`)} / ${sumBy(by, `rate(${o.family}[5m])`)}`,
    comparison: '>',
    threshold: o.threshold,
    fires: { input: [counter(o.family, { ...o.bad, ...by }, 60), counter(o.family, { ...o.good, ...by }, 60)], labels: by },
    quiet: { input: [counter(o.family, { ...o.bad, ...by }, 0), counter(o.family, { ...o.good, ...by }, 60)] },
  };
}

/** Fires when the `quantile` of a histogram family over 5 minutes (by `by`) exceeds `threshold` seconds. */
export function quantileAbove(o: Common & { readonly quantile: number; readonly threshold: number }): AlertSpec {
  const by = o.by ?? {};
  const bucket = `${o.family}_bucket`;
  const bounds = [String(o.threshold), String(o.threshold * 4), '+Inf'];
  const grouping = ['le', ...Object.keys(by)].join(', ');
  return {
    ...common(o),
    query: `histogram_quantile(${o.quantile}, sum by (${grouping}) (rate(${bucket}[5m])))`,
    comparison: '>',
    threshold: o.threshold,
    // Fires: every observation between threshold and 4 x threshold. Quiet: every one below threshold.
    fires: { input: bounds.map((le, i) => counter(bucket, { ...by, le }, i === 0 ? 0 : 60)), labels: by },
    quiet: { input: bounds.map((le) => counter(bucket, { ...by, le }, 60)) },
  };
}

/**
 * Fires when a gauge (optionally narrowed by `only`) compares true against `threshold`; the tests
 * hold it at `firing` and at `quiet`. Series labels (`only` and `by`) are kept as they are.
 */
export function gaugeCompare(
  o: Common & { readonly only?: Readonly<Record<string, string>>; readonly comparison: AlertSpec['comparison']; readonly threshold: number; readonly firing: number; readonly quiet: number },
): AlertSpec {
  const labels = { ...(o.only ?? {}), ...(o.by ?? {}) };
  return {
    ...common(o),
    query: `${o.family}${matchers(o.only ?? {})}`,
    comparison: o.comparison,
    threshold: o.threshold,
    fires: { input: [gauge(o.family, labels, o.firing)], labels },
    quiet: { input: [gauge(o.family, labels, o.quiet)] },
  };
}

/** Helpers for layouts that write an alert's query and test series by hand. */
export const testSeries = { counter, gauge };
