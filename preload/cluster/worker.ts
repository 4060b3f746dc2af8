import type { Logger } from 'pino';
import { asRequest, type CollectResponse } from './protocol.ts';

/**
 * In a cluster worker whose primary runs the preload: answers the primary's collect requests with this
 * worker's exposition (`render`, which flushes the collectors first). The worker does not listen on the
 * scrape port; the primary serves the one `/metrics`. Never throws into the app.
 * @returns a function that stops answering.
 */
export function answerPrimary(render: () => Promise<string>, logger: Logger): () => void {
  const onMessage = (message: unknown) => {
    const req = asRequest(message);
    if (!req) return;
    render().then(
      (text) => {
        const res: CollectResponse = { otelContracts: 'exposition', id: req.id, text };
        if (process.connected) process.send?.(res, undefined, undefined, () => {});
      },
      (err: unknown) => logger.warn({ err: (err as Error).message }, 'cluster worker: rendering for the primary failed'),
    );
  };
  process.on('message', onMessage);
  return () => void process.off('message', onMessage);
}
