import type { Meter } from '@opentelemetry/api';
import type promClient from 'prom-client';
import type { Recorders } from '../../../instrumentation/recorders.ts';
import type { ContractSpec } from '../../../semconv/types.ts';

/**
 * The peers of the recording paths, loaded on demand (a child process loads only the one it measures):
 * the two Prometheus clients, which share prom-client's API, the bare OTel SDK with one reader, and our
 * pipeline's recorders, as bench/recording.bench.ts builds them; each with the other metrics of a real
 * process recorded once (see other-metrics.ts).
 */

/** The names of the implementations in the table, as in the wall-clock benchmarks. */
export const PROM_IO = '@prometheus-io/client';
export const PROM_CLIENT = 'prom-client';
export const OTEL_SDK = 'otel-sdk';
export const OTEL_SDK_VIEW = 'otel-sdk + View';
export const OURS = 'ours';
/** What a row's own floor is called in the table (the row's title says what it is). */
export const FLOOR = 'floor';

/** `@prometheus-io/client` 0.16 or prom-client 15, by their table name, with the other metrics recorded once in a registry of their own. */
export async function promLibrary(name: typeof PROM_IO | typeof PROM_CLIENT): Promise<typeof promClient> {
  const lib = (name === PROM_IO ? (await import('@prometheus-io/client')).default : (await import('prom-client')).default) as unknown as typeof promClient;
  const { recordOthersProm } = await import('./other-metrics.ts');
  recordOthersProm(lib, new lib.Registry());
  return lib;
}

/**
 * A meter of a bare MeterProvider with one reader (our scrape reader, which does nothing until collected),
 * the other metrics recorded once on it; with `viewsOf`, the provider has our Views of that contract and
 * the meter is its scope.
 */
export async function sdkMeter(name: string, viewsOf?: ContractSpec): Promise<Meter> {
  const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
  const { ScrapeReader } = await import('../../../instrumentation/scrape/reader.ts');
  const { buildViews, meterNameOf } = await import('../../../instrumentation/views.ts');
  const { recordOthersSdk } = await import('./other-metrics.ts');
  const provider = new MeterProvider({ readers: [new ScrapeReader([])], ...(viewsOf ? { views: buildViews([viewsOf]) } : {}) });
  const meter = provider.getMeter(viewsOf ? meterNameOf(viewsOf) : name);
  recordOthersSdk(meter);
  return meter;
}

/** The recorders of `contract` on a pipeline with the scrape reader only and silent logs, which also holds the other metrics, recorded once. */
export async function ourRecorders<C extends ContractSpec>(contract: C): Promise<Recorders<C>> {
  const { createPipeline } = await import('../../../instrumentation/pipeline.ts');
  const { otherContract, recordOthersOurs } = await import('./other-metrics.ts');
  const pipeline = createPipeline({ contracts: [contract, otherContract], serviceName: 'bench', env: { OTEL_METRICS_EXPORTER: 'prometheus', OTEL_CONTRACTS_LOG_LEVEL: 'silent' } });
  recordOthersOurs(pipeline.recorders(otherContract));
  return pipeline.recorders(contract);
}
