/**
 * Pipeline configuration from the standard `OTEL_*` variables, plus a few `OTEL_CONTRACTS_*` ones for
 * what the standard does not cover. Every bad value is an error naming the variable.
 */

/** A configuration value that cannot be used; the message names the variable and what it accepts. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The readers to run: `prometheus` (scrape) and/or `otlp` (push). */
export type ExporterName = 'prometheus' | 'otlp';

/** Resolved pipeline configuration. Durations are in milliseconds. */
export interface PipelineConfig {
  readonly exporters: ReadonlySet<ExporterName>;
  readonly prometheus: {
    readonly host: string;
    readonly port: number;
    readonly allowNonLoopback: boolean;
    readonly rateLimit: { readonly perSecond: number; readonly burst: number };
    readonly targetInfo: boolean;
  };
  readonly otlp: {
    /** `http/protobuf` (default) or `http/json`. */
    readonly protocol: 'http/protobuf' | 'http/json';
    /** OTEL_METRIC_EXPORT_INTERVAL, default 60000. */
    readonly exportIntervalMs: number;
    /** OTEL_METRIC_EXPORT_TIMEOUT, default 30000, never above the interval. */
    readonly exportTimeoutMs: number;
  };
  /** Bound on the final push at exit (OTEL_CONTRACTS_EXIT_TIMEOUT_MS, default 5000). */
  readonly exitTimeoutMs: number;
  /** Exit non-zero when the final push failed (OTEL_CONTRACTS_FAIL_ON_PUSH_ERROR, default false). */
  readonly failOnPushError: boolean;
  /** Pushgateway base URL for a final push of the exposition on exit (OTEL_CONTRACTS_PUSHGATEWAY_URL). */
  readonly pushgatewayUrl?: string;
}

/** Defaults a component may override before the environment is applied. */
export interface ConfigDefaults {
  readonly exporters?: readonly ExporterName[];
  readonly prometheusHost?: string;
  readonly prometheusPort?: number;
}

/**
 * Reads the pipeline configuration.
 *
 * - `OTEL_METRICS_EXPORTER`: comma list of `prometheus`, `otlp`, `none`. Unset: the component's default
 *   (`prometheus`), plus `otlp` when an OTLP endpoint variable is set.
 * - `OTEL_EXPORTER_PROMETHEUS_HOST` / `_PORT`: scrape address (default 127.0.0.1:9464).
 * - `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf` or `http/json`.
 * - `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_METRIC_EXPORT_TIMEOUT`: push period and export timeout (ms).
 * - Endpoint, headers and per-request timeout are read by the OTLP exporter itself
 *   (`OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT`, `_HEADERS`, `_TIMEOUT`).
 * - `OTEL_CONTRACTS_PUSHGATEWAY_URL`: also PUT the exposition to this Pushgateway on exit (grouping key job + instance_id).
 * - `OTEL_CONTRACTS_EXIT_TIMEOUT_MS`, `OTEL_CONTRACTS_FAIL_ON_PUSH_ERROR`, `OTEL_CONTRACTS_ALLOW_NON_LOOPBACK`,
 *   `OTEL_CONTRACTS_SCRAPE_RATE_LIMIT` (`RPS` or `RPS:BURST`), `OTEL_CONTRACTS_TARGET_INFO`.
 *
 * @throws ConfigError naming the variable and the accepted values.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env, defaults: ConfigDefaults = {}): PipelineConfig {
  const exporters = readExporters(env, defaults.exporters ?? ['prometheus']);
  const exportIntervalMs = readInt(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000, 1);
  const exportTimeoutMs = Math.min(readInt(env, 'OTEL_METRIC_EXPORT_TIMEOUT', 30_000, 1), exportIntervalMs);
  return {
    exporters,
    prometheus: {
      host: nonEmpty(env.OTEL_EXPORTER_PROMETHEUS_HOST) ?? defaults.prometheusHost ?? '127.0.0.1',
      port: readInt(env, 'OTEL_EXPORTER_PROMETHEUS_PORT', defaults.prometheusPort ?? 9464, 0, 65535),
      allowNonLoopback: readBool(env, 'OTEL_CONTRACTS_ALLOW_NON_LOOPBACK', false),
      rateLimit: readRateLimit(env),
      targetInfo: readBool(env, 'OTEL_CONTRACTS_TARGET_INFO', false),
    },
    otlp: { protocol: readProtocol(env), exportIntervalMs, exportTimeoutMs },
    exitTimeoutMs: readInt(env, 'OTEL_CONTRACTS_EXIT_TIMEOUT_MS', 5_000, 1),
    failOnPushError: readBool(env, 'OTEL_CONTRACTS_FAIL_ON_PUSH_ERROR', false),
    ...readPushgateway(env),
  };
}

/** True when any OTLP metrics endpoint variable is set. */
export function otlpEndpointConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(nonEmpty(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT));
}

function readExporters(env: NodeJS.ProcessEnv, defaults: readonly ExporterName[]): Set<ExporterName> {
  const raw = nonEmpty(env.OTEL_METRICS_EXPORTER);
  if (raw === undefined) {
    const set = new Set<ExporterName>(defaults);
    if (otlpEndpointConfigured(env)) set.add('otlp');
    return set;
  }
  const set = new Set<ExporterName>();
  for (const part of raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (part === 'none') continue;
    if (part !== 'prometheus' && part !== 'otlp') {
      throw new ConfigError(`OTEL_METRICS_EXPORTER="${raw}": unknown exporter "${part}"; use prometheus, otlp, both (prometheus,otlp) or none`);
    }
    set.add(part);
  }
  return set;
}

function readPushgateway(env: NodeJS.ProcessEnv): { pushgatewayUrl?: string } {
  const raw = nonEmpty(env.OTEL_CONTRACTS_PUSHGATEWAY_URL);
  if (raw === undefined) return {};
  if (!/^https?:\/\/[^/]+/.test(raw)) throw new ConfigError(`OTEL_CONTRACTS_PUSHGATEWAY_URL="${raw}": expected an http(s) URL such as http://127.0.0.1:9091`);
  return { pushgatewayUrl: raw };
}

function readProtocol(env: NodeJS.ProcessEnv): 'http/protobuf' | 'http/json' {
  const name = env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ? 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const raw = nonEmpty(env[name]) ?? 'http/protobuf';
  if (raw === 'http/protobuf' || raw === 'http/json') return raw;
  throw new ConfigError(`${name}="${raw}": only http/protobuf and http/json are supported (point gRPC users at the collector's 4318 HTTP port)`);
}

function readRateLimit(env: NodeJS.ProcessEnv): { perSecond: number; burst: number } {
  const raw = nonEmpty(env.OTEL_CONTRACTS_SCRAPE_RATE_LIMIT);
  if (raw === undefined) return { perSecond: 10, burst: 20 };
  const m = /^(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(raw);
  const perSecond = Number(m?.[1]);
  const burst = m?.[2] !== undefined ? Number(m[2]) : Math.max(1, Math.ceil(perSecond * 2));
  if (!m || !(perSecond > 0) || !(burst >= 1)) {
    throw new ConfigError(`OTEL_CONTRACTS_SCRAPE_RATE_LIMIT="${raw}": expected RPS or RPS:BURST with RPS > 0, e.g. 10:20`);
  }
  return { perSecond, burst };
}

function readInt(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name}="${raw}": expected an integer from ${min} to ${max}`);
  return n;
}

function readBool(env: NodeJS.ProcessEnv, name: string, def: boolean): boolean {
  const raw = nonEmpty(env[name])?.toLowerCase();
  if (raw === undefined) return def;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name}="${env[name]}": expected true or false`);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}
