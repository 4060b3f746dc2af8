import type { Logger } from './logger.ts';
import type { Pipeline, ShutdownReport } from './pipeline.ts';

/** Options of {@link installExitHandlers}. */
export interface ExitOptions {
  /**
   * Exit after the final push on SIGTERM/SIGINT. `unless-app-handles` leaves the exit to the app when it
   * listens for the signal itself (the preload must not change an app's behaviour): the signal then pushes
   * what was recorded so far, and the final push waits for `beforeExit`, so what the app records while it
   * drains is pushed too (unless it ends with `process.exit()`, which runs no asynchronous work). Default `always`.
   */
  readonly exitOnSignal?: 'always' | 'unless-app-handles';
  /** Runs before the final push on a signal, e.g. to close a component's listeners. */
  readonly beforeShutdown?: () => Promise<void> | void;
}

/**
 * Final push on SIGTERM, SIGINT and normal exit (`beforeExit`), within the pipeline's exit bound; after
 * it the process exits anyway. A second signal exits at once. A failed final push is logged with its
 * reason and sets exit code 1 when `OTEL_CONTRACTS_FAIL_ON_PUSH_ERROR=true`; otherwise a signal exits 0.
 * `process.exit()` called by the app itself cannot be intercepted for an async push (Node runs only
 * synchronous `exit` listeners), so nothing is pushed then.
 *
 * @returns a function that removes the handlers.
 */
export function installExitHandlers(pipeline: Pipeline, logger: Logger = pipeline.logger, opts: ExitOptions = {}): () => void {
  let signalled = false;
  const finish = async (why: string): Promise<ShutdownReport> => {
    const pushes = pipeline.config.exporters.has('otlp') || pipeline.config.pushgatewayUrl !== undefined;
    // Without a push there is nothing to wait for; keep an app's stderr quiet on its ordinary exit.
    if (pushes) logger.info({ why, boundMs: pipeline.config.exitTimeoutMs }, 'shutting down: final push');
    else logger.debug({ why }, 'shutting down');
    const report = await pipeline.shutdown();
    if (report.pushed && !report.ok) logger.error({ reason: report.reason, elapsedMs: report.elapsedMs }, 'final push failed');
    else if (report.pushed) logger.info({ elapsedMs: report.elapsedMs }, 'final push delivered');
    return report;
  };
  const failed = (r: ShutdownReport) => r.pushed && !r.ok && pipeline.config.failOnPushError;

  let flushedOnSignal = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // An app that listens for the signal itself owns its exit, on a repeated signal too.
    const appHandles = opts.exitOnSignal === 'unless-app-handles' && process.listenerCount(signal) > 1;
    if (appHandles) {
      if (flushedOnSignal) return;
      flushedOnSignal = true;
      logger.debug({ signal }, 'the app handles the signal: pushing now, the final push at its exit');
      void pipeline.meterProvider.forceFlush().catch(() => undefined);
      return;
    }
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    signalled = true;
    void (async () => {
      try {
        await opts.beforeShutdown?.();
      } catch (e) {
        logger.error({ err: e }, 'closing listeners failed');
      }
      const report = await finish(signal);
      process.exit(failed(report) ? 1 : (process.exitCode as number | undefined) ?? 0);
    })();
  };
  let exiting = false;
  const onBeforeExit = () => {
    if (exiting || signalled) return;
    exiting = true;
    void finish('exit').then((report) => {
      if (failed(report) && !process.exitCode) process.exitCode = 1;
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('beforeExit', onBeforeExit);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('beforeExit', onBeforeExit);
  };
}
