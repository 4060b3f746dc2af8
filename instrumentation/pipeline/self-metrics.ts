import type { Logger } from '../logger.ts';
import { otlpMetricsUrl } from '../push/otlp.ts';
import type { DropSink, Recorders } from '../recorders.ts';
import { self as selfContract } from '../../semconv/generated/self.ts';

/** How many distinct drops (contract, family, reason, detail) are logged; later new ones are only counted. */
const MAX_LOGGED_DROPS = 1000;

/**
 * The pipeline's accounting of itself, recorded into the self-metrics contract (`otel_contracts_*`)
 * and the log. Events that arrive before {@link SelfMetrics.attach} are logged but not counted.
 */
export interface SelfMetrics {
  /** Starts counting into the self contract's recorders. */
  attach(recorders: Recorders<typeof selfContract>): void;
  /**
   * A measurement did not fit its contract: counted in `otel_contracts_measurements_dropped_total{contract,family,reason}`
   * (except drops of the self contract's own families), and logged once per distinct drop as a warning.
   */
  readonly onDrop: DropSink;
  /** One OTLP export finished: counted in `otel_contracts_exports_total{result}`; a failure is logged with the endpoint. */
  readonly onExport: (ok: boolean, error?: string) => void;
  /** The scrape rate limit refused a request: counted in `otel_contracts_scrapes_rejected_total`. */
  readonly onScrapeRejected: () => void;
}

/**
 * Creates the self-metrics accounting of one pipeline.
 * @param env where the OTLP endpoint named in failed-export warnings is read.
 */
export function createSelfMetrics(logger: Logger, env: NodeJS.ProcessEnv): SelfMetrics {
  let recorders: Recorders<typeof selfContract> | undefined;
  const loggedDrops = new Set<string>();
  return {
    attach(r) {
      recorders = r;
    },
    onDrop(contract, family, reason, detail) {
      if (contract !== selfContract.id) {
        recorders?.otel_contracts_measurements_dropped_total.add(1, { contract, family: family.slice(0, 200), reason });
      }
      const key = `${contract}\u0000${family}\u0000${reason}\u0000${detail}`;
      if (loggedDrops.size < MAX_LOGGED_DROPS && !loggedDrops.has(key)) {
        loggedDrops.add(key);
        logger.warn({ contract, family, reason, detail }, 'measurement dropped: it does not fit the contract (logged once)');
      }
    },
    onExport(ok, error) {
      recorders?.otel_contracts_exports_total.add(1, { result: ok ? 'success' : 'failure' });
      if (!ok) logger.warn({ endpoint: otlpMetricsUrl(env), err: error }, 'OTLP push failed; the next export retries with cumulative values, so nothing is lost while the process lives');
    },
    onScrapeRejected() {
      recorders?.otel_contracts_scrapes_rejected_total.add(1);
    },
  };
}
