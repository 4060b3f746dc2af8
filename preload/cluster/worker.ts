import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import { collectedOf, toWireNumber } from './collected.ts';
import { asRequest, type CollectResponse } from './protocol.ts';

/**
 * In a cluster worker whose primary runs the preload: answers the primary's collect requests with this
 * worker's collected data points (`collect`, which flushes the collectors first), as plain
 * `CollectedFamily` data: the primary merges them with its own and every other worker's and renders the one
 * exposition. The worker does not listen on the scrape port. A failed collection is logged and not
 * answered (the primary's timeout leaves the worker out). Never throws into the app.
 * @returns a function that stops answering.
 */
export function answerPrimary(collect: () => Promise<ResourceMetrics>, logger: Logger): () => void {
  const onMessage = (message: unknown) => {
    const req = asRequest(message);
    if (!req) return;
    collect().then(
      (rm) => {
        try {
          const res: CollectResponse = { otelContracts: 'collected', id: req.id, families: collectedOf(rm, toWireNumber) };
          if (process.connected) process.send?.(res, undefined, undefined, () => {});
        } catch (err) {
          logger.warn({ err: (err as Error).message }, 'cluster worker: sending collected data to the primary failed');
        }
      },
      (err: unknown) => logger.warn({ err: (err as Error).message }, 'cluster worker: collecting for the primary failed'),
    );
  };
  process.on('message', onMessage);
  return () => void process.off('message', onMessage);
}
