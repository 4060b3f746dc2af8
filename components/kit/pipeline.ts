import { processMetrics } from '../../collectors/process/index.ts';
import type { ConfigDefaults } from '../../instrumentation/config.ts';
import type { Logger } from '../../instrumentation/logger.ts';
import { createPipeline, type Pipeline } from '../../instrumentation/pipeline.ts';
import type { ContractSpec } from '../../semconv/types.ts';

/** Options of {@link createComponentPipeline}. */
export interface ComponentPipelineOptions {
  /** The component's contracts (one for a component; `sample` may take several). */
  readonly contracts: readonly ContractSpec[];
  /** `service.name` unless `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` say otherwise. */
  readonly serviceName: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logger?: Logger;
  /** Readers and scrape address before the environment; default: the `prometheus` reader only. */
  readonly defaults?: ConfigDefaults;
}

/**
 * The pipeline of a component: its contracts, plus the standard `process_*` families every Prometheus
 * client library exports (`semconv/process.yaml`; off with `OTEL_CONTRACTS_PROCESS_METRICS=false`),
 * read from `/proc/self` before every collection. The `OTEL_*` variables override `defaults`.
 * @throws ConfigError for a bad `OTEL_*` value.
 */
export function createComponentPipeline(opts: ComponentPipelineOptions): Pipeline {
  const proc = processMetrics(opts.env);
  const pipeline = createPipeline({
    contracts: [...opts.contracts, ...proc.contracts],
    serviceName: opts.serviceName,
    env: opts.env,
    defaults: opts.defaults ?? { exporters: ['prometheus'] },
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  proc.start(pipeline);
  return pipeline;
}
