import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import { process as processContract } from '../../semconv/generated/process.ts';
import type { ContractSpec } from '../../semconv/types.ts';
import type { Collector } from '../types.ts';
import { startProcessCollector } from './collector.ts';
import type { ReadOptions } from './read.ts';

export { startProcessCollector, type ProcessCollector, type ProcessRecorders } from './collector.ts';
export { readProcessSample, type ProcessSample } from './read.ts';

/** The variable that turns the standard process families off (`false` or `0`); they are on otherwise. */
export const PROCESS_METRICS_ENV = 'OTEL_CONTRACTS_PROCESS_METRICS';

/** Process metrics for one pipeline, decided before the pipeline is built. */
export interface ProcessMetrics {
  /** `[process contract]` when on and procfs is there, else empty: add them to the pipeline's contracts. */
  readonly contracts: readonly ContractSpec[];
  /**
   * Starts the process collector on a pipeline built with {@link contracts} and registers its read before
   * every collection (`pipeline.onCollect`). When off, does nothing; when procfs is missing, logs one line.
   * @returns the collector (its `stop` unregisters it), or undefined when nothing started. Never throws.
   */
  start(pipeline: Pipeline): Collector | undefined;
}

/**
 * The standard Prometheus process families (`semconv/process.yaml`, Prometheus client-library convention)
 * for a component or the preload: on by default, off with `OTEL_CONTRACTS_PROCESS_METRICS=false`. When
 * `<procRoot>/self/stat` cannot be read (no procfs, not Linux), the families are left out of the pipeline
 * entirely and {@link ProcessMetrics.start} logs one line. Never throws.
 *
 *   const proc = processMetrics(env);
 *   const pipeline = createPipeline({ contracts: [egress, ...proc.contracts], ... });
 *   proc.start(pipeline);
 */
export function processMetrics(env: NodeJS.ProcessEnv = process.env, opts: Omit<ReadOptions, 'bootTimeSeconds'> = {}): ProcessMetrics {
  const raw = env[PROCESS_METRICS_ENV]?.trim().toLowerCase();
  if (raw === 'false' || raw === '0') return { contracts: [], start: () => undefined };
  const stat = join(opts.procRoot ?? '/proc', 'self/stat');
  if (!existsSync(stat)) {
    return {
      contracts: [],
      start(pipeline) {
        pipeline.logger.warn({ collector: 'process', file: stat }, 'process metrics left out: no procfs to read them from');
        return undefined;
      },
    };
  }
  return {
    contracts: [processContract],
    start(pipeline) {
      try {
        const collector = startProcessCollector(pipeline.recorders(processContract), { ...opts, logger: pipeline.logger });
        const off = pipeline.onCollect(collector.flush);
        return {
          name: collector.name,
          source: collector.source,
          stop() {
            off();
            collector.stop();
          },
        };
      } catch (err) {
        pipeline.logger.warn({ collector: 'process', err: (err as Error).message }, 'process metrics not started');
        return undefined;
      }
    },
  };
}
