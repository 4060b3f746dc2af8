import type { Logger } from 'pino';
import type { OtlpMetric, OtlpMetricsRequest } from './decode.ts';
import { startOtlpReceiver } from './receiver.ts';
import { TargetError } from '../../../instrumentation/exposition/target-error.ts';
import type { ObservationSink, ObservedType } from '../model.ts';

/**
 * The Prometheus TYPE an OTLP metric is exposed as: monotonic sum -> counter, non-monotonic sum and
 * gauge -> gauge, explicit-bucket histogram -> histogram, summary -> summary. Exponential histograms
 * have no 0.0.4 form (`exponential_histogram`), and a metric without data is `none`.
 */
export function observedTypeOf(m: OtlpMetric): ObservedType {
  switch (m.kind) {
    case 'sum':
      return m.isMonotonic ? 'counter' : 'gauge';
    case 'gauge':
      return 'gauge';
    case 'histogram':
      return 'histogram';
    case 'summary':
      return 'summary';
    case 'exponentialHistogram':
      return 'exponential_histogram';
    case 'none':
      return 'none';
  }
}

/**
 * Feeds one decoded OTLP request into the family/series model: one family per metric (name as sent,
 * TYPE from {@link observedTypeOf}, HELP from the description), one series per data point with its
 * attributes as labels (a histogram data point is one series, as its `_bucket`/`_sum`/`_count` lines
 * would be). Resource attributes are not labels and are left out. Repeats across cumulative pushes
 * are counted once by the sink.
 * @param push 1-based number of the push, for the report.
 * @returns how many metrics and data points the request carried.
 */
export function observeOtlpRequest(req: OtlpMetricsRequest, sink: ObservationSink, push: number): { metrics: number; dataPoints: number } {
  const origin = { push };
  let metrics = 0;
  let dataPoints = 0;
  for (const rm of req.resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        metrics++;
        dataPoints += m.dataPoints.length;
        sink.family(m.name, { type: observedTypeOf(m), ...(m.description ? { help: m.description } : {}) }, origin);
        for (const p of m.dataPoints) sink.series(m.name, Object.entries(p.attributes), origin);
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
export async function receiveOtlp(opts: ReceiveOtlpOptions, sink: ObservationSink): Promise<OtlpReceiveStats> {
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
          const seen = observeOtlpRequest(req, sink, pushes);
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
