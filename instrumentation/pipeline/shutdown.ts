import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import { pushExposition } from '../push/pushgateway.ts';
import type { RecordingExporter } from '../push/recording-exporter.ts';

/** Outcome of `Pipeline.shutdown()` (see {@link createShutdown}). */
export interface ShutdownReport {
  /** True when no push was configured, or the final push was delivered within the bound. */
  readonly ok: boolean;
  readonly pushed: boolean;
  /** Why the final push failed or did not finish. */
  readonly reason?: string;
  readonly elapsedMs: number;
}

/** What the final push and shutdown act on. */
export interface ShutdownParts {
  readonly meterProvider: MeterProvider;
  /** The OTLP push exporter, when the `otlp` reader is on: its last export is the final push. */
  readonly push: RecordingExporter | undefined;
  /** The Pushgateway URL, when one is configured: the exposition is PUT there first. */
  readonly pushgatewayTarget: string | undefined;
  /** Renders the exposition for the Pushgateway. */
  readonly render: () => Promise<string>;
  /** Closes the standalone scrape server, if any. */
  readonly closeServer: () => void;
}

/**
 * The pipeline's bounded, idempotent shutdown: the Pushgateway PUT (given half the bound when OTLP push is
 * also on), then `MeterProvider.shutdown()` (the OTLP reader's final export), raced against what is left of
 * the bound; then the scrape server closes. Later calls return the first call's report.
 *
 * @param defaultTimeoutMs the bound in milliseconds when the caller gives none (`OTEL_CONTRACTS_EXIT_TIMEOUT_MS`).
 * @returns `shutdown(timeoutMs?)`, which never rejects: failures and timeouts are reported in the {@link ShutdownReport}.
 */
export function createShutdown(parts: ShutdownParts, defaultTimeoutMs: number): (timeoutMs?: number) => Promise<ShutdownReport> {
  const { meterProvider, push, pushgatewayTarget, render, closeServer } = parts;
  let shuttingDown: Promise<ShutdownReport> | undefined;
  return (timeoutMs = defaultTimeoutMs) => {
    shuttingDown ??= (async () => {
      const t0 = performance.now();
      push?.markFinal();
      // The Pushgateway push renders through the scrape reader, so it runs before the readers shut down.
      let gatewayError: string | undefined;
      if (pushgatewayTarget) {
        try {
          await pushExposition(pushgatewayTarget, await render(), Math.max(1, timeoutMs / (push ? 2 : 1)));
        } catch (e) {
          gatewayError = (e as Error).message;
        }
      }
      const remaining = Math.max(1, timeoutMs - (performance.now() - t0));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), remaining);
        timer.unref();
      });
      const outcome = await Promise.race([meterProvider.shutdown().then(() => 'done' as const, (e: unknown) => e), timedOut]);
      clearTimeout(timer);
      closeServer();
      const elapsedMs = Math.round(performance.now() - t0);
      if (gatewayError) return { ok: false, pushed: true, reason: gatewayError, elapsedMs };
      if (!push) return { ok: true, pushed: Boolean(pushgatewayTarget), elapsedMs };
      const final = push.status().final;
      if (outcome === 'timeout') return { ok: false, pushed: true, reason: `final push did not finish within ${timeoutMs} ms`, elapsedMs };
      if (outcome !== 'done') return { ok: false, pushed: true, reason: `shutdown failed: ${(outcome as Error)?.message ?? String(outcome)}`, elapsedMs };
      if (!final) return { ok: false, pushed: true, reason: 'no final export ran', elapsedMs };
      return final.ok ? { ok: true, pushed: true, elapsedMs } : { ok: false, pushed: true, reason: final.error ?? 'export failed', elapsedMs };
    })();
    return shuttingDown;
  };
}
