import { DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Attributes } from '@opentelemetry/api';
import type { FamilySpec } from '../../semconv/types.ts';
import { constantLabelsOf, seriesLabelsOf } from '../views.ts';

/** Content type of the Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Options of {@link serializeExposition}. */
export interface SerializeOptions {
  /**
   * The documented families, in the order they are written. Each appears with its HELP and TYPE even
   * before its first measurement; collected metrics not declared here follow, in collection order.
   */
  readonly families: readonly FamilySpec[];
  /** Write a `target_info` gauge with the resource's attributes (off by default). */
  readonly targetInfo?: boolean;
}

/**
 * Writes collected metrics in the Prometheus text format 0.0.4 under their exact names: no `_total`
 * or unit suffix is ever appended (`masque_vpn_total_connections` stays a counter of that name,
 * `ops_proxy_clients_total` stays a gauge), and no `otel_scope_*` labels are added.
 * Monotonic sums are counters; non-monotonic sums and gauges are gauges; explicit-bucket histograms
 * are histograms (`_bucket` with cumulative counts and `le`, `_sum`, `_count`). Exponential histograms
 * are skipped: the contracts never use them.
 * @returns the whole exposition: {@link serializeChunks} joined.
 */
export function serializeExposition(rm: ResourceMetrics, opts: SerializeOptions): string {
  let out = '';
  for (const chunk of serializeChunks(rm, opts)) out += chunk;
  return out;
}

/** Roughly how many characters one chunk of {@link serializeChunks} holds before it is handed out. */
export const CHUNK_CHARS = 64 * 1024;

/**
 * The exposition of {@link serializeExposition} in pieces of about {@link CHUNK_CHARS} characters (a piece
 * ends only at a line end), so a caller can yield to the event loop and stream the response between pieces.
 * Joined, the pieces are exactly the string {@link serializeExposition} returns.
 */
export function* serializeChunks(rm: ResourceMetrics, opts: SerializeOptions): Generator<string, void, undefined> {
  const collected = new Map<string, MetricData>();
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) collected.set(m.descriptor.name, m);

  const out = new Chunk();
  if (opts.targetInfo) out.add(targetInfo(rm.resource.attributes));
  for (const f of opts.families) {
    const m = collected.get(f.name);
    collected.delete(f.name);
    out.add(header(f.name, m?.descriptor.description || f.help, f.type));
    if (m) yield* samples(m, out);
    if (out.full()) yield out.take();
  }
  for (const m of collected.values()) {
    const type = prometheusTypeOf(m);
    if (!type) continue;
    out.add(header(m.descriptor.name, m.descriptor.description, type));
    yield* samples(m, out);
  }
  if (out.size) yield out.take();
}

/**
 * The piece of exposition being written. Lines are kept in an array and joined when the piece is handed
 * out, so each piece is one flat string: `+=` would build a tree of thousands of small strings per piece,
 * which stays alive while the response is written (and while late scrapes share the render) and makes
 * every young-generation collection copy it.
 */
class Chunk {
  private parts: string[] = [];
  size = 0;
  add(s: string): void {
    this.parts.push(s);
    this.size += s.length;
  }
  full(): boolean {
    return this.size >= CHUNK_CHARS;
  }
  take(): string {
    const s = this.parts.join('');
    this.parts = [];
    this.size = 0;
    return s;
  }
}

/**
 * The Prometheus type a collected metric is written as: `counter` for a monotonic sum, `gauge` for a
 * non-monotonic sum or a gauge, `histogram` for an explicit-bucket histogram; undefined for what is not
 * written (exponential histograms).
 */
export function prometheusTypeOf(m: MetricData): 'counter' | 'gauge' | 'histogram' | undefined {
  switch (m.dataPointType) {
    case DataPointType.SUM:
      return m.isMonotonic ? 'counter' : 'gauge';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    default:
      return undefined;
  }
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/** Writes the samples of one metric into `out`, handing out a piece each time it reaches {@link CHUNK_CHARS}. */
function* samples(m: MetricData, out: Chunk): Generator<string, void, undefined> {
  const name = m.descriptor.name;
  switch (m.dataPointType) {
    case DataPointType.SUM:
    case DataPointType.GAUGE:
      for (const p of m.dataPoints) {
        const labels = labelString(p.attributes);
        out.add(`${name}${labels ? `{${labels}}` : ''} ${formatValue(p.value)}\n`);
        if (out.full()) yield out.take();
      }
      break;
    case DataPointType.HISTOGRAM:
      for (const p of m.dataPoints) {
        const labels = labelString(p.attributes);
        const prefix = labels ? `${labels},` : '';
        const { boundaries, counts } = p.value.buckets;
        let cumulative = 0;
        for (let i = 0; i < boundaries.length; i++) {
          cumulative += counts[i] ?? 0;
          out.add(`${name}_bucket{${prefix}le="${formatValue(boundaries[i] as number)}"} ${cumulative}\n`);
        }
        out.add(`${name}_bucket{${prefix}le="+Inf"} ${p.value.count}\n`);
        const braces = labels ? `{${labels}}` : '';
        out.add(`${name}_sum${braces} ${formatValue(p.value.sum ?? 0)}\n`);
        out.add(`${name}_count${braces} ${p.value.count}\n`);
        if (out.full()) yield out.take();
      }
      break;
    default:
      break;
  }
}

function targetInfo(attrs: Attributes): string {
  const labels = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${labelNameOf(k)}="${escapeLabelValue(String(v))}"`)
    .join(',');
  return `# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info{${labels}} 1\n`;
}

/**
 * `k1="v1",k2="v2"`: for a recorder's attribute set or series handle (see `seriesLabelsOf` in views.ts), the
 * family's constant instance labels first (the set inherits them), then the series' labels in documented
 * order, never the handle; for any other set, its own keys in their order.
 * Keys that are not valid Prometheus label names (the SDK's `otel.metric.overflow`) get underscores.
 */
export function labelString(attrs: Attributes): string {
  const labels = seriesLabelsOf(attrs);
  let s = labels === undefined ? '' : inheritedLabels(constantLabelsOf(labels));
  const own = labels ?? attrs;
  for (const k of Object.keys(own)) {
    const v = own[k];
    if (v === undefined) continue;
    s += `${s ? ',' : ''}${labelNameOf(k)}="${escapeLabelValue(typeof v === 'string' ? v : String(v))}"`;
  }
  return s;
}

/**
 * The label string of a family's constant labels, kept per base: a base is frozen and lives as long as its
 * family, so the string can never go stale.
 */
const inherited = new WeakMap<object, string>();
function inheritedLabels(base: object): string {
  let s = inherited.get(base);
  if (s === undefined) {
    s = '';
    const labels = base as Attributes;
    for (const k in labels) {
      const v = labels[k];
      if (v !== undefined) s += `${s ? ',' : ''}${labelNameOf(k)}="${escapeLabelValue(typeof v === 'string' ? v : String(v))}"`;
    }
    inherited.set(base, s);
  }
  return s;
}

const labelNames = new Map<string, string>();
function labelNameOf(key: string): string {
  let name = labelNames.get(key);
  if (name === undefined) {
    name = sanitizeLabelName(key);
    if (labelNames.size < 10_000) labelNames.set(key, name);
  }
  return name;
}

const NEEDS_LABEL_ESCAPE = /[\\"\n]/;
/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return NEEDS_LABEL_ESCAPE.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as Prometheus writes it: `+Inf`, `-Inf`, `NaN`, or the shortest decimal. */
export function formatValue(v: number): string {
  if (Number.isFinite(v)) return String(v);
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? '+Inf' : '-Inf';
}

function sanitizeLabelName(k: string): string {
  const s = k.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}
