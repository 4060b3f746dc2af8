import type { Pipeline } from '../../instrumentation/pipeline.ts';
import type { ContractSpec } from '../../semconv/types.ts';
import { parseHostPort } from '../kit/host-port.ts';
import { startComponent, type ComponentStop } from '../kit/lifecycle.ts';
import { createComponentPipeline } from '../kit/pipeline.ts';
import { plausibleMeasurements } from './plausible.ts';

/** Options of {@link runSample}. */
export interface SampleOptions {
  readonly contracts: readonly ContractSpec[];
  /**
   * `HOST:PORT` (or `[V6]:PORT`) for /metrics, parsed by the component kit; overrides
   * OTEL_EXPORTER_PROMETHEUS_HOST/PORT. `:PORT` means every interface, which needs `allowNonLoopback`.
   */
  readonly listen?: string;
  readonly allowNonLoopback?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  /** Install SIGTERM/SIGINT/exit handlers with the final push (the CLI does; tests in-process do not). */
  readonly exitHandlers?: boolean;
}

/** A running sample: its pipeline and where it serves and pushes; `close()` makes the final push. */
export interface Sample extends ComponentStop {
  readonly pipeline: Pipeline;
  readonly scrapeUrl?: string;
  readonly pushUrl?: string;
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
 * 127.0.0.1:9464 by default), with the process families, and pushes them when OTLP is chosen, until
 * SIGTERM/SIGINT (with `exitHandlers`). Start-up and stop follow the component kit (`startComponent`).
 * @throws HostPortError (a ConfigError) for a bad `--listen`; ConfigError, NonLoopbackBindError, or the listen error.
 */
export async function runSample(opts: SampleOptions): Promise<Sample> {
  const env = { ...(opts.env ?? process.env) };
  if (opts.listen !== undefined) {
    const at = parseHostPort(opts.listen, '--listen', 'listen');
    env.OTEL_EXPORTER_PROMETHEUS_HOST = at.host;
    env.OTEL_EXPORTER_PROMETHEUS_PORT = String(at.port);
  }
  if (opts.allowNonLoopback) env.OTEL_CONTRACTS_ALLOW_NON_LOOPBACK = 'true';
  const pipeline = createComponentPipeline({ contracts: opts.contracts, serviceName: 'otel-contracts-sample', env });
  return startComponent(pipeline, pipeline.logger, opts.exitHandlers, async (cleanups) => {
    const recorded = recordSample(pipeline, opts.contracts);
    const { scrapeUrl, pushUrl } = await pipeline.start();
    const families = opts.contracts.reduce((n, c) => n + c.families.length, 0);
    pipeline.logger.info(
      { contracts: opts.contracts.map((c) => c.id), families, measurements: recorded, scrape: scrapeUrl ?? 'off', push: pushUrl ?? 'off', exportIntervalMs: pushUrl ? pipeline.config.otlp.exportIntervalMs : undefined },
      `sample serving ${families} families${scrapeUrl ? ` at ${scrapeUrl}` : ''}${pushUrl ? `, pushing to ${pushUrl}` : ''}`,
    );
    if (!scrapeUrl && pushUrl) {
      // Nothing listens: keep the process alive until a signal so the periodic push runs.
      const keepAlive = setInterval(() => {}, 1 << 30);
      cleanups.add(() => clearInterval(keepAlive));
    }
    return { pipeline, ...(scrapeUrl ? { scrapeUrl } : {}), ...(pushUrl ? { pushUrl } : {}) };
  });
}
