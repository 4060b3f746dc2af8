/**
 * Decoding of OTLP/HTTP metrics export requests (`POST /v1/metrics`) into plain objects, from either
 * encoding the OTLP specification defines: binary protobuf (`application/x-protobuf`) and OTLP/JSON
 * (`application/json`, lowerCamelCase keys, 64-bit integers as strings or numbers, enums as integers).
 * Both go through one normalizer, so a protobuf push and its JSON twin decode to equal objects.
 */
import { otlpMessageTypes } from './descriptor.ts';

/** Temporality of a sum, histogram or exponential histogram (`unspecified` for gauges and summaries). */
export type OtlpTemporality = 'unspecified' | 'delta' | 'cumulative';

/** The `data` case of an OTLP Metric; `none` when the metric carries no data field at all. */
export type OtlpMetricKind = 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary' | 'none';

/** Fields common to every data point. Times are Unix epoch nanoseconds as decimal strings (they exceed 2^53). */
export interface OtlpPointBase {
  /** Attributes flattened to strings: ints and doubles in decimal, bools `true`/`false`, arrays and maps as JSON, bytes as base64. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly startTimeUnixNano: string;
  readonly timeUnixNano: string;
  readonly flags: number;
}

/** A gauge or sum data point. `value` is the `as_double` or `as_int` field (0 when neither is set). */
export interface OtlpNumberDataPoint extends OtlpPointBase {
  readonly value: number;
}

/** An explicit-bucket histogram data point: `bucketCounts` has one more entry than `explicitBounds` (the +Inf bucket). Counts are per bucket, not cumulative. */
export interface OtlpHistogramDataPoint extends OtlpPointBase {
  readonly count: number;
  readonly sum?: number;
  readonly bucketCounts: readonly number[];
  readonly explicitBounds: readonly number[];
  readonly min?: number;
  readonly max?: number;
}

/** An exponential histogram data point (base-2 buckets at `scale`). */
export interface OtlpExponentialHistogramDataPoint extends OtlpPointBase {
  readonly count: number;
  readonly sum?: number;
  readonly scale: number;
  readonly zeroCount: number;
  readonly positive: { readonly offset: number; readonly bucketCounts: readonly number[] };
  readonly negative: { readonly offset: number; readonly bucketCounts: readonly number[] };
}

/** A summary data point. */
export interface OtlpSummaryDataPoint extends OtlpPointBase {
  readonly count: number;
  readonly sum: number;
  readonly quantiles: readonly { readonly quantile: number; readonly value: number }[];
}

interface OtlpMetricBase {
  readonly name: string;
  readonly description: string;
  /** UCUM unit as sent (`s`, `By`, `1`), or empty. */
  readonly unit: string;
  /** True only for monotonic sums. */
  readonly isMonotonic: boolean;
  readonly temporality: OtlpTemporality;
}

/** One decoded metric, discriminated by `kind`. */
export type OtlpMetric =
  | (OtlpMetricBase & { readonly kind: 'gauge' | 'sum'; readonly dataPoints: readonly OtlpNumberDataPoint[] })
  | (OtlpMetricBase & { readonly kind: 'histogram'; readonly dataPoints: readonly OtlpHistogramDataPoint[] })
  | (OtlpMetricBase & { readonly kind: 'exponentialHistogram'; readonly dataPoints: readonly OtlpExponentialHistogramDataPoint[] })
  | (OtlpMetricBase & { readonly kind: 'summary'; readonly dataPoints: readonly OtlpSummaryDataPoint[] })
  | (OtlpMetricBase & { readonly kind: 'none'; readonly dataPoints: readonly [] });

/** An instrumentation scope and the metrics recorded through it. */
export interface OtlpScopeMetrics {
  readonly scope: { readonly name: string; readonly version: string; readonly attributes: Readonly<Record<string, string>> };
  readonly schemaUrl: string;
  readonly metrics: readonly OtlpMetric[];
}

/** One resource (`service.name`, ...) and its scopes. */
export interface OtlpResourceMetrics {
  readonly resource: Readonly<Record<string, string>>;
  readonly schemaUrl: string;
  readonly scopeMetrics: readonly OtlpScopeMetrics[];
}

/** A decoded `ExportMetricsServiceRequest`. */
export interface OtlpMetricsRequest {
  readonly resourceMetrics: readonly OtlpResourceMetrics[];
}

/** The body could not be decoded; `message` says what was wrong. The receiver answers 400 with it. */
export class OtlpDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpDecodeError';
  }
}

/** Which OTLP/HTTP encoding a `Content-Type` names, or undefined when it is neither. */
export function otlpEncodingOf(contentType: string | undefined): 'protobuf' | 'json' | undefined {
  const mime = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mime === 'application/x-protobuf' || mime === 'application/protobuf') return 'protobuf';
  if (mime === 'application/json') return 'json';
  return undefined;
}

/**
 * Decodes an OTLP/HTTP `ExportMetricsServiceRequest` body.
 * @param body the request body, already decompressed.
 * @param contentType `application/x-protobuf` or `application/json` (parameters such as `charset` are ignored).
 * @throws OtlpDecodeError for an unsupported content type, invalid protobuf or JSON, or a body that is not an export request.
 */
export function decodeMetricsRequest(body: Uint8Array, contentType: string | undefined): OtlpMetricsRequest {
  const encoding = otlpEncodingOf(contentType);
  if (encoding === 'protobuf') return decodeMetricsRequestProtobuf(body);
  if (encoding === 'json') return decodeMetricsRequestJson(new TextDecoder().decode(body));
  throw new OtlpDecodeError(`unsupported content type "${contentType ?? ''}": send application/x-protobuf or application/json`);
}

/**
 * Decodes a binary protobuf `ExportMetricsServiceRequest`.
 * @throws OtlpDecodeError when the bytes are not a valid message.
 */
export function decodeMetricsRequestProtobuf(body: Uint8Array): OtlpMetricsRequest {
  const { ExportMetricsServiceRequest } = otlpMessageTypes();
  let obj: Record<string, unknown>;
  try {
    const msg = ExportMetricsServiceRequest.decode(body);
    obj = ExportMetricsServiceRequest.toObject(msg, { longs: String, enums: Number, bytes: String, defaults: false, arrays: true });
  } catch (err) {
    throw new OtlpDecodeError(`invalid protobuf ExportMetricsServiceRequest: ${(err as Error).message}`);
  }
  return normalizeRequest(obj);
}

/**
 * Decodes an OTLP/JSON `ExportMetricsServiceRequest` (lowerCamelCase keys; snake_case accepted too).
 * @throws OtlpDecodeError when the text is not JSON or not an object.
 */
export function decodeMetricsRequestJson(text: string): OtlpMetricsRequest {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new OtlpDecodeError(`invalid JSON ExportMetricsServiceRequest: ${(err as Error).message}`);
  }
  if (!isObject(obj)) throw new OtlpDecodeError('invalid JSON ExportMetricsServiceRequest: the body is not a JSON object');
  return normalizeRequest(obj);
}

/** Encodes the empty `ExportMetricsServiceResponse` (full success) in the request's encoding. */
export function encodeMetricsResponse(encoding: 'protobuf' | 'json'): Uint8Array {
  if (encoding === 'json') return new TextEncoder().encode('{}');
  const { ExportMetricsServiceResponse } = otlpMessageTypes();
  return ExportMetricsServiceResponse.encode(ExportMetricsServiceResponse.create({})).finish();
}

/** Encodes a `google.rpc.Status` error body (OTLP/HTTP answers 4xx with one) in the given encoding. */
export function encodeStatus(encoding: 'protobuf' | 'json', code: number, message: string): Uint8Array {
  if (encoding === 'json') return new TextEncoder().encode(JSON.stringify({ code, message }));
  const { Status } = otlpMessageTypes();
  return Status.encode(Status.create({ code, message })).finish();
}

// ---------------------------------------------------------------------------------------------
// Normalization: one path for protobuf `toObject()` output and OTLP/JSON.

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads `camel` or its snake_case twin. */
function field(o: Obj, camel: string): unknown {
  if (camel in o) return o[camel];
  const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return o[snake];
}

function list(o: Obj, camel: string, where: string): Obj[] {
  const v = field(o, camel);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpDecodeError(`${where}.${camel}: expected an array`);
  return v.map((x, i) => {
    if (!isObject(x)) throw new OtlpDecodeError(`${where}.${camel}[${i}]: expected an object`);
    return x;
  });
}

function obj(o: Obj, camel: string): Obj | undefined {
  const v = field(o, camel);
  return isObject(v) ? v : undefined;
}

function str(o: Obj, camel: string): string {
  const v = field(o, camel);
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

/** A number from a number, or a decimal string (OTLP/JSON writes 64-bit integers as strings). */
function num(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return Number.NaN;
    if (v === 'Infinity') return Number.POSITIVE_INFINITY;
    if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
    const n = Number(v);
    if (v.trim() !== '' && !Number.isNaN(n)) return n;
  }
  if (typeof v === 'object' && v !== null && 'low' in v && 'high' in v) {
    // A Long that slipped through: low/high 32-bit halves.
    const l = v as { low: number; high: number; unsigned?: boolean };
    return l.high * 4294967296 + (l.low >>> 0);
  }
  throw new OtlpDecodeError(`${where}: expected a number, got ${JSON.stringify(v)}`);
}

function optNum(o: Obj, camel: string, where: string): number | undefined {
  const v = field(o, camel);
  return v === undefined || v === null ? undefined : num(v, `${where}.${camel}`);
}

function nanos(o: Obj, camel: string): string {
  const v = field(o, camel);
  return v === undefined || v === null ? '0' : String(v);
}

function numList(o: Obj, camel: string, where: string): number[] {
  const v = field(o, camel);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpDecodeError(`${where}.${camel}: expected an array`);
  return v.map((x, i) => num(x, `${where}.${camel}[${i}]`));
}

function anyValueToString(v: unknown): string {
  if (!isObject(v)) return '';
  const s = field(v, 'stringValue');
  if (s !== undefined && s !== null) return String(s);
  const b = field(v, 'boolValue');
  if (b !== undefined && b !== null) return b === true || b === 'true' ? 'true' : 'false';
  const i = field(v, 'intValue');
  if (i !== undefined && i !== null) return String(i);
  const d = field(v, 'doubleValue');
  if (d !== undefined && d !== null) return String(typeof d === 'number' ? d : num(d, 'doubleValue'));
  const arr = obj(v, 'arrayValue');
  if (arr) return JSON.stringify(list(arr, 'values', 'arrayValue').map(anyValueToString));
  const kv = obj(v, 'kvlistValue');
  if (kv) return JSON.stringify(attributes(kv, 'values', 'kvlistValue'));
  const bytes = field(v, 'bytesValue');
  if (bytes !== undefined && bytes !== null) return String(bytes);
  return '';
}

function attributes(o: Obj, camel: string, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list(o, camel, where)) out[str(kv, 'key')] = anyValueToString(field(kv, 'value'));
  return out;
}

function temporalityOf(v: unknown): OtlpTemporality {
  if (v === 1 || v === 'AGGREGATION_TEMPORALITY_DELTA') return 'delta';
  if (v === 2 || v === 'AGGREGATION_TEMPORALITY_CUMULATIVE') return 'cumulative';
  return 'unspecified';
}

function pointBase(p: Obj, attrField: string, where: string): OtlpPointBase {
  const flags = optNum(p, 'flags', where);
  return {
    attributes: attributes(p, attrField, where),
    startTimeUnixNano: nanos(p, 'startTimeUnixNano'),
    timeUnixNano: nanos(p, 'timeUnixNano'),
    flags: flags ?? 0,
  };
}

function numberPoint(p: Obj, where: string): OtlpNumberDataPoint {
  const d = field(p, 'asDouble');
  const i = field(p, 'asInt');
  const value = d !== undefined && d !== null ? num(d, `${where}.asDouble`) : i !== undefined && i !== null ? num(i, `${where}.asInt`) : 0;
  return { ...pointBase(p, 'attributes', where), value };
}

function withOptional<T extends object>(base: T, extra: Record<string, number | undefined>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return out as T;
}

function histogramPoint(p: Obj, where: string): OtlpHistogramDataPoint {
  const bucketCounts = numList(p, 'bucketCounts', where);
  const explicitBounds = numList(p, 'explicitBounds', where);
  if (bucketCounts.length > 0 && bucketCounts.length !== explicitBounds.length + 1) {
    throw new OtlpDecodeError(`${where}: ${bucketCounts.length} bucketCounts for ${explicitBounds.length} explicitBounds (expected bounds + 1)`);
  }
  const base = { ...pointBase(p, 'attributes', where), count: optNum(p, 'count', where) ?? 0, bucketCounts, explicitBounds };
  return withOptional(base, { sum: optNum(p, 'sum', where), min: optNum(p, 'min', where), max: optNum(p, 'max', where) });
}

function expBuckets(o: Obj | undefined, where: string): { offset: number; bucketCounts: number[] } {
  if (!o) return { offset: 0, bucketCounts: [] };
  return { offset: optNum(o, 'offset', where) ?? 0, bucketCounts: numList(o, 'bucketCounts', where) };
}

function exponentialPoint(p: Obj, where: string): OtlpExponentialHistogramDataPoint {
  const base = {
    ...pointBase(p, 'attributes', where),
    count: optNum(p, 'count', where) ?? 0,
    scale: optNum(p, 'scale', where) ?? 0,
    zeroCount: optNum(p, 'zeroCount', where) ?? 0,
    positive: expBuckets(obj(p, 'positive'), `${where}.positive`),
    negative: expBuckets(obj(p, 'negative'), `${where}.negative`),
  };
  return withOptional(base, { sum: optNum(p, 'sum', where) });
}

function summaryPoint(p: Obj, where: string): OtlpSummaryDataPoint {
  return {
    ...pointBase(p, 'attributes', where),
    count: optNum(p, 'count', where) ?? 0,
    sum: optNum(p, 'sum', where) ?? 0,
    quantiles: list(p, 'quantileValues', where).map((q) => ({ quantile: optNum(q, 'quantile', where) ?? 0, value: optNum(q, 'value', where) ?? 0 })),
  };
}

function metricOf(m: Obj, where: string): OtlpMetric {
  const name = str(m, 'name');
  if (name === '') throw new OtlpDecodeError(`${where}: metric without a name`);
  const base = { name, description: str(m, 'description'), unit: str(m, 'unit') };
  const w = `${where}(${name})`;
  const points = <P>(data: Obj, point: (p: Obj, where: string) => P): P[] => list(data, 'dataPoints', w).map((p, i) => point(p, `${w}.dataPoints[${i}]`));
  const temporality = (data: Obj): OtlpTemporality => temporalityOf(field(data, 'aggregationTemporality'));
  const gauge = obj(m, 'gauge');
  if (gauge) return { ...base, kind: 'gauge', isMonotonic: false, temporality: 'unspecified', dataPoints: points(gauge, numberPoint) };
  const sum = obj(m, 'sum');
  if (sum) return { ...base, kind: 'sum', isMonotonic: field(sum, 'isMonotonic') === true, temporality: temporality(sum), dataPoints: points(sum, numberPoint) };
  const hist = obj(m, 'histogram');
  if (hist) return { ...base, kind: 'histogram', isMonotonic: false, temporality: temporality(hist), dataPoints: points(hist, histogramPoint) };
  const exp = obj(m, 'exponentialHistogram');
  if (exp) return { ...base, kind: 'exponentialHistogram', isMonotonic: false, temporality: temporality(exp), dataPoints: points(exp, exponentialPoint) };
  const summary = obj(m, 'summary');
  if (summary) return { ...base, kind: 'summary', isMonotonic: false, temporality: 'unspecified', dataPoints: points(summary, summaryPoint) };
  return { ...base, kind: 'none', isMonotonic: false, temporality: 'unspecified', dataPoints: [] };
}

function normalizeRequest(o: Obj): OtlpMetricsRequest {
  return {
    resourceMetrics: list(o, 'resourceMetrics', 'request').map((rm, i) => {
      const where = `resourceMetrics[${i}]`;
      const resource = obj(rm, 'resource');
      return {
        resource: resource ? attributes(resource, 'attributes', `${where}.resource`) : {},
        schemaUrl: str(rm, 'schemaUrl'),
        scopeMetrics: list(rm, 'scopeMetrics', where).map((sm, j) => {
          const w = `${where}.scopeMetrics[${j}]`;
          const scope = obj(sm, 'scope') ?? {};
          return {
            scope: { name: str(scope, 'name'), version: str(scope, 'version'), attributes: attributes(scope, 'attributes', `${w}.scope`) },
            schemaUrl: str(sm, 'schemaUrl'),
            metrics: list(sm, 'metrics', w).map((m, k) => metricOf(m, `${w}.metrics[${k}]`)),
          };
        }),
      };
    }),
  };
}
