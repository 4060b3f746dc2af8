import type { Resource } from '@opentelemetry/resources';
import type { FamilySpec } from '../../semconv/types.ts';
import type { PipelineConfig } from '../config.ts';
import { createPushReader } from '../push/otlp.ts';
import { pushgatewayUrl } from '../push/pushgateway.ts';
import type { RecordingExporter } from '../push/recording-exporter.ts';
import { ScrapeReader } from '../scrape/reader.ts';
import { CumulativeReader } from './cumulative-reader.ts';

/** The metric readers chosen by the configuration. */
export interface Readers {
  /**
   * The one reader to register with the MeterProvider: it holds the one cumulative copy of every series,
   * which the scrape and push readers read (they are bound to it, not registered).
   */
  readonly cumulative: CumulativeReader;
  /**
   * The exact-name scrape reader: present when the `prometheus` reader is on, and also when a Pushgateway
   * is configured, since the Pushgateway gets the same exposition as a scrape.
   */
  readonly scrape: ScrapeReader | undefined;
  /** The OTLP push reader's exporter (status, final-push marker): present when the `otlp` reader is on. */
  readonly push: RecordingExporter | undefined;
}

/**
 * Creates the cumulative reader and the exporting readers `config` asks for (`OTEL_METRICS_EXPORTER`, `OTEL_EXPORTER_PROMETHEUS_*`, the
 * Pushgateway URL, `OTEL_EXPORTER_OTLP_*` from `env`).
 *
 * @param families every family of the pipeline's contracts: the scrape reader renders them by their exact names.
 * @param beforeCollect runs before every collection of either reader (the recorders flush there).
 * @param onExport told the result of every OTLP export (`error` is the failure's message).
 */
export function createReaders(
  config: PipelineConfig,
  env: NodeJS.ProcessEnv,
  families: readonly FamilySpec[],
  beforeCollect: () => void,
  onExport: (ok: boolean, error?: string) => void,
): Readers {
  const cumulative = new CumulativeReader(beforeCollect);
  const scrape = config.exporters.has('prometheus') || config.pushgatewayUrl ? new ScrapeReader(families, config.prometheus.targetInfo) : undefined;
  if (scrape) cumulative.bind(scrape);
  let push: RecordingExporter | undefined;
  if (config.exporters.has('otlp')) {
    const created = createPushReader(config, env, onExport);
    cumulative.bind(created.reader);
    push = created.exporter;
  }
  return { cumulative, scrape, push };
}

/**
 * The Pushgateway URL the exposition is PUT to at shutdown (`<base>/metrics/job/<service.name>/<key>/<value>...`),
 * or `undefined` when no Pushgateway is configured.
 *
 * @param groupingKey computes the label name → value pairs identifying this instance (see `groupingKeyOf`); called only when a Pushgateway is configured.
 */
export function pushgatewayTargetOf(config: PipelineConfig, resource: Resource, groupingKey: () => Readonly<Record<string, string>>): string | undefined {
  const gateway = config.pushgatewayUrl;
  return gateway ? pushgatewayUrl(gateway, String(resource.attributes['service.name']), groupingKey()) : undefined;
}
