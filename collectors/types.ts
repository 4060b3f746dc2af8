import type { Logger } from 'pino';
import type { Recorders } from '../instrumentation/recorders.ts';
import type { podtrace } from '../semconv/generated/podtrace.ts';
import type { trc } from '../semconv/generated/trc.ts';

/** Typed recorders of the podtrace contract (seed 003). */
export type PodtraceRecorders = Recorders<typeof podtrace>;

/** The two trc families of seed 002 section A ("Availability and request metrics") the HTTP server collector feeds. */
export type TrcHttpRecorders = Pick<Recorders<typeof trc>, 'trc_http_requests_total' | 'trc_http_request_duration_seconds'>;

/** The logger collectors write to (pino). */
export type CollectorLogger = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;

/**
 * A running collector: one data source recording into typed recorders.
 * Every timer a collector owns is unref'd: a collector never keeps a finished app alive.
 */
export interface Collector {
  /** Short name used in logs and in `OTEL_CONTRACTS_COLLECTORS` (e.g. `dns`, `cgroup`). */
  readonly name: string;
  /** One phrase about the source used (e.g. `schedstat`, `cgroup v1`), for the start-up line. */
  readonly source?: string;
  /** Records whatever the collector has accumulated but not yet recorded (called before the final push). Never throws. */
  flush?(): void;
  /** Stops timers, unsubscribes channels and restores patched functions. Idempotent; never throws. */
  stop(): void;
}
