import { processMetrics } from '../../collectors/process/index.ts';
import { createPipeline, type Pipeline } from '../../instrumentation/pipeline.ts';
import { installExitHandlers } from '../../instrumentation/exit.ts';
import type { ContractSpec } from '../../semconv/types.ts';
import { plausibleMeasurements } from './plausible.ts';

/** Options of {@link runSample}. */
export interface SampleOptions {
  readonly contracts: readonly ContractSpec[];
  /** `HOST:PORT` for /metrics; overrides OTEL_EXPORTER_PROMETHEUS_HOST/PORT. */
  readonly listen?: string;
  readonly allowNonLoopback?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Records every family of the chosen contracts once, with plausible series, into `pipeline`.
 * Deterministic, so a direct scrape and the collector path show the same values.
 * @returns the number of measurements recorded.
 */
export function recordSample(pipeline: Pipeline, contracts: readonly ContractSpec[]): number {
  let n = 0;
  for (const contract of contracts) {
    // Family names come from the contract at run time, so the recorders are addressed untyped here.
    const rec = pipeline.recorders(contract) as unknown as Record<string, { add?: (v: number, l: object) => void; record?: (v: number, l: object) => void }>;
    for (const [family, measurements] of plausibleMeasurements(contract)) {
      const r = rec[family.name];
      for (const m of measurements) {
        if (r?.add) r.add(m.value, m.labels);
        else r?.record?.(m.value, m.labels);
        n++;
      }
    }
  }
  return n;
}

/**
 * `otel-contracts sample`: serves every family of the chosen contracts through the pipeline (scrape on
 * 127.0.0.1:9464 by default) and pushes them when OTLP is chosen, until SIGTERM/SIGINT.
 * @throws ConfigError, NonLoopbackBindError, or the listen error.
 */
export async function runSample(opts: SampleOptions): Promise<Pipeline> {
  const env = { ...(opts.env ?? process.env) };
  if (opts.listen) {
    const m = /^(.*):(\d+)$/.exec(opts.listen);
    if (!m) throw new Error(`--listen "${opts.listen}": expected HOST:PORT, e.g. 127.0.0.1:9464`);
    env.OTEL_EXPORTER_PROMETHEUS_HOST = m[1];
    env.OTEL_EXPORTER_PROMETHEUS_PORT = m[2];
  }
  if (opts.allowNonLoopback) env.OTEL_CONTRACTS_ALLOW_NON_LOOPBACK = 'true';
  // The standard process_* families too (Prometheus client-library convention), unless OTEL_CONTRACTS_PROCESS_METRICS=false.
  const proc = processMetrics(env);
  const pipeline = createPipeline({ contracts: [...opts.contracts, ...proc.contracts], serviceName: 'otel-contracts-sample', env });
  proc.start(pipeline);
  const recorded = recordSample(pipeline, opts.contracts);
  const { scrapeUrl, pushUrl } = await pipeline.start();
  installExitHandlers(pipeline);
  const families = opts.contracts.reduce((n, c) => n + c.families.length, 0);
  pipeline.logger.info(
    { contracts: opts.contracts.map((c) => c.id), families, measurements: recorded, scrape: scrapeUrl ?? 'off', push: pushUrl ?? 'off', exportIntervalMs: pushUrl ? pipeline.config.otlp.exportIntervalMs : undefined },
    `sample serving ${families} families${scrapeUrl ? ` at ${scrapeUrl}` : ''}${pushUrl ? `, pushing to ${pushUrl}` : ''}`,
  );
  if (!scrapeUrl && pushUrl) {
    // Nothing listens: keep the process alive until a signal so the periodic push runs.
    setInterval(() => {}, 1 << 30);
  }
  return pipeline;
}
