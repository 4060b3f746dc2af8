import type { Logger } from 'pino';
import type { OtlpMetric, OtlpMetricsRequest } from './decode.ts';
import { observedTypeOf } from './observed-type.ts';
import { startOtlpReceiver } from './receiver.ts';
import type { OtlpNameResolver, ResolvedOtlpName } from './resolve-name.ts';
import { TargetError } from '../exposition/target-error.ts';
import type { CheckSink, LabelPair, Origin } from '../model.ts';

export { observedTypeOf } from './observed-type.ts';

/** Hands a metric's values to the sink as samples: a number point's value, a histogram point's buckets (`le` per bound, cumulative, then `+Inf`). */
function observeValues(family: string, m: OtlpMetric, sink: CheckSink, origin: Origin): void {
  if (!sink.sample) return;
  if (m.kind === 'gauge' || m.kind === 'sum') {
    for (const p of m.dataPoints) sink.sample({ family, name: family, labels: Object.entries(p.attributes), value: p.value }, origin);
  } else if (m.kind === 'histogram') {
    for (const p of m.dataPoints) {
      const labels: LabelPair[] = Object.entries(p.attributes);
      let cumulative = 0;
      p.explicitBounds.forEach((bound, i) => {
        cumulative += p.bucketCounts[i] ?? 0;
        sink.sample?.({ family, name: `${family}_bucket`, labels: [...labels, ['le', String(bound)]], value: cumulative }, origin);
      });
      sink.sample({ family, name: `${family}_bucket`, labels: [...labels, ['le', '+Inf']], value: p.count }, origin);
    }
  }
}

/** The name as sent, when no resolver translates (tests of the model alone). */
function asSent(m: OtlpMetric): ResolvedOtlpName {
  return { family: m.name, sentName: m.name, unit: m.unit, translation: 'as-sent', escaped: m.name, collectorDefault: m.name };
}

/**
 * Feeds one decoded OTLP request into the family/series model: one family per metric (its name resolved
 * against the contracts by `resolver`: as sent, or as a collector translation makes it; TYPE from
 * {@link observedTypeOf}, HELP from the description, the unit and the translation as metadata), one
 * series per data point with its attributes as labels (a histogram data point is one series, as its
 * `_bucket`/`_sum`/`_count` lines would be), and each value and bucket bound as a sample. Resource
 * attributes are not labels and are left out. Repeats across cumulative pushes are counted once by the sink.
 * @param push 1-based number of the push, for the report.
 * @param resolver names metrics after the contracts; without one, every name is taken as sent.
 * @returns how many metrics and data points the request carried.
 */
export function observeOtlpRequest(req: OtlpMetricsRequest, sink: CheckSink, push: number, resolver?: OtlpNameResolver): { metrics: number; dataPoints: number } {
  const origin = { push };
  let metrics = 0;
  let dataPoints = 0;
  for (const rm of req.resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        metrics++;
        dataPoints += m.dataPoints.length;
        const resolved = resolver ? resolver.resolve(m) : asSent(m);
        const family = resolved.family;
        sink.family(family, { type: observedTypeOf(m), ...(m.description ? { help: m.description } : {}) }, origin);
        sink.describe(family, { unit: { unit: m.unit, source: 'otlp', origin }, otlp: resolved });
        for (const p of m.dataPoints) sink.series(family, Object.entries(p.attributes), origin);
        observeValues(family, m, sink, origin);
      }
    }
  }
  return { metrics, dataPoints };
}

/** Options of {@link receiveOtlp}. */
export interface ReceiveOtlpOptions {
  /** `HOST:PORT` to listen on (loopback unless `allowNonLoopback`). */
  readonly listen: string;
  /** How long to receive, in milliseconds. */
  readonly durationMs: number;
  readonly allowNonLoopback?: boolean;
  readonly logger?: Logger;
  /** Names metrics after the checked contracts (collector translations); default: as sent. */
  readonly resolver?: OtlpNameResolver;
}

/** What {@link receiveOtlp} received. */
export interface OtlpReceiveStats {
  readonly endpoint: string;
  readonly pushes: number;
  readonly metrics: number;
  readonly dataPoints: number;
}

/** Splits `HOST:PORT` (`[::1]:4318` for IPv6). @throws TargetError for anything else. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(listen.trim());
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new TargetError(`--otlp-listen "${listen}": expected HOST:PORT, e.g. 127.0.0.1:4318`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

/**
 * Receives OTLP/HTTP metric pushes on `listen` for `durationMs`, feeding each decoded request into
 * `sink` as it arrives, then stops listening.
 * @throws TargetError when the address cannot be bound, when no push arrived in time (with the endpoint to
 * set), or when a push could not be decoded (with the receiver's reason).
 */
export async function receiveOtlp(opts: ReceiveOtlpOptions, sink: CheckSink): Promise<OtlpReceiveStats> {
  const { host, port } = parseListen(opts.listen);
  let pushes = 0;
  let metrics = 0;
  let dataPoints = 0;
  let failure: TargetError | undefined;
  let receiver;
  try {
    receiver = await startOtlpReceiver({
      host,
      port,
      allowNonLoopback: opts.allowNonLoopback ?? false,
      keep: false,
      onRequest: (req) => {
        pushes++;
        try {
          const seen = observeOtlpRequest(req, sink, pushes, opts.resolver);
          metrics += seen.metrics;
          dataPoints += seen.dataPoints;
        } catch (err) {
          // The counts no longer matter: receiveOtlp throws this failure at the end.
          failure ??= err instanceof TargetError ? err : new TargetError(`push ${pushes}: ${(err as Error).message}`);
        }
        opts.logger?.debug({ push: pushes, resources: req.resourceMetrics.length }, 'OTLP push received');
      },
      onError: (e) => {
        failure ??= new TargetError(`an OTLP push was refused with HTTP ${e.status}: ${e.reason}`);
      },
    });
  } catch (err) {
    throw new TargetError(`cannot listen on ${opts.listen}: ${(err as Error).message}`);
  }
  opts.logger?.info({ endpoint: receiver.endpoint, seconds: opts.durationMs / 1000 }, `receiving OTLP pushes at ${receiver.url}`);
  await new Promise((r) => setTimeout(r, opts.durationMs));
  await receiver.close();
  if (failure) throw failure;
  if (pushes === 0) {
    throw new TargetError(
      `no OTLP push arrived at ${receiver.url} within ${opts.durationMs / 1000} s: set OTEL_EXPORTER_OTLP_ENDPOINT=${receiver.endpoint} (protocol http/protobuf or http/json) and an export interval shorter than --duration`,
    );
  }
  return { endpoint: receiver.endpoint, pushes, metrics, dataPoints };
}
