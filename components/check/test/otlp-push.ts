/**
 * Test fixtures: OTLP/JSON `ExportMetricsServiceRequest`s as an OTel SDK sends them (cumulative sums,
 * gauges and explicit-bucket histograms with UCUM units), and a way to check them without a socket.
 */
import type { ContractSpec } from '../../../semconv/types.ts';
import { createCheck, type CheckRunOptions } from '../check.ts';
import type { CheckResult } from '../result.ts';
import { decodeMetricsRequestJson } from '../otlp/decode.ts';
import { observeOtlpRequest } from '../otlp/observe.ts';

type Attrs = Readonly<Record<string, string>>;
type JsonMetric = Record<string, unknown>;

function attributes(a: Attrs): { key: string; value: { stringValue: string } }[] {
  return Object.entries(a).map(([key, v]) => ({ key, value: { stringValue: v } }));
}

const NOW = '1767225600000000000';

/** A monotonic (counter) or non-monotonic cumulative sum. */
export function sum(name: string, unit: string, points: readonly Attrs[], monotonic = true): JsonMetric {
  return { name, unit, sum: { aggregationTemporality: 2, isMonotonic: monotonic, dataPoints: points.map((p) => ({ attributes: attributes(p), asDouble: 1, timeUnixNano: NOW })) } };
}

/** A gauge whose points carry `value` (default 1). */
export function gauge(name: string, unit: string, points: readonly Attrs[], value = 1): JsonMetric {
  return { name, unit, gauge: { dataPoints: points.map((p) => ({ attributes: attributes(p), asDouble: value, timeUnixNano: NOW })) } };
}

/** An explicit-bucket histogram, one observation in the first bucket per point. */
export function histogram(name: string, unit: string, bounds: readonly number[], points: readonly Attrs[]): JsonMetric {
  return {
    name,
    unit,
    histogram: {
      aggregationTemporality: 2,
      dataPoints: points.map((p) => ({ attributes: attributes(p), count: 1, sum: 0.001, explicitBounds: bounds, bucketCounts: [1, ...bounds.map(() => 0)], timeUnixNano: NOW })),
    },
  };
}

/** One request of one resource and scope. */
export function request(metrics: readonly JsonMetric[], service = 'egress-sidecar'): string {
  return JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: attributes({ 'service.name': service, 'service.instance.id': 'sbx-1' }) },
        scopeMetrics: [{ scope: { name: 'opensandbox.egress', version: '1.0.0' }, metrics }],
      },
    ],
  });
}

/** Checks OTLP/JSON requests as `--otlp-listen` would, without a socket: decode, resolve names, observe, finish. */
export function checkOtlp(contracts: readonly ContractSpec[], requests: readonly string[], opts: CheckRunOptions = {}): CheckResult {
  const run = createCheck(contracts, opts);
  requests.forEach((r, i) => observeOtlpRequest(decodeMetricsRequestJson(r), run.sink, i + 1, run.resolver));
  return run.finish();
}

const PROM_DEFAULT = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Options of {@link egressOtelMetrics}. */
export interface EgressOtelShape {
  /** Unit of the forward-duration histogram (documented `s`). */
  readonly durationUnit?: string;
  /** Its bucket bounds (documented: Prometheus' default buckets). */
  readonly durationBounds?: readonly number[];
  /** Unit of the counters (an OTel SDK's `{query}`-style annotation by default). */
  readonly counterUnit?: string;
  /** Unit of the mode gauges (`{mode}` by default; `1` gets `_ratio` under the default translation). */
  readonly modeUnit?: string;
  /** The enforcement mode reported (default `dns`). */
  readonly mode?: 'dns' | 'dns+nft';
}

/**
 * The egress contract as an OTel-instrumented sidecar in dns mode pushes it (the Python SDK's shape):
 * dotted OTel names with UCUM units, which the collector's default translation renders as the
 * documented names (`opensandbox.egress.dns.queries` with unit `{query}` → `opensandbox_egress_dns_queries_total`).
 */
export function egressOtelMetrics(shape: EgressOtelShape = {}): JsonMetric[] {
  const i = { instance_id: 'sbx-1' };
  const mode = shape.mode ?? 'dns';
  const unit = (u: string) => shape.counterUnit ?? u;
  return [
    sum('opensandbox.egress.dns.queries', unit('{query}'), [{ ...i, result: 'allowed' }, { ...i, result: 'denied' }]),
    histogram('opensandbox.egress.dns.forward.duration', shape.durationUnit ?? 's', shape.durationBounds ?? PROM_DEFAULT, [i]),
    sum('opensandbox.egress.policy.updates', unit('{update}'), [i]),
    gauge('opensandbox.egress.policy.rule_count', '{rule}', [{ ...i, default_action: 'deny' }]),
    gauge('opensandbox.egress.enforcement_mode', shape.modeUnit ?? '{mode}', [{ ...i, mode }]),
    sum('opensandbox.egress.violations', unit('{violation}'), [{ ...i, type: 'dns_deny' }]),
    gauge('opensandbox.egress.info', '{info}', [{ ...i, enforcement_mode: mode, version: '1.4.2' }]),
    gauge('opensandbox.egress.uptime', 's', [i], 12.5),
  ];
}
