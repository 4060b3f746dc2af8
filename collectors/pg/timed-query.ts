import { performance } from 'node:perf_hooks';

/** Marks a `query` function already wrapped, so a client handed out twice is timed once. */
const TIMED: unique symbol = Symbol('otel-contracts.pgTimedQuery');

/** A pg `Client` as far as timing goes: its `query` method. */
export interface QueryingClient {
  query: (...args: unknown[]) => unknown;
}

/** Told of every query that ended: its first argument (text or config), whether it failed, and its duration in seconds. */
export type OnQueryEnd = (first: unknown, failed: boolean, seconds: number) => void;

/**
 * Wraps `client.query` so that every query is timed from the call to its result, whichever of pg's three
 * forms is used (as `@opentelemetry/instrumentation-pg` wraps it; pg publishes no diagnostics channel):
 * a trailing callback, a returned promise, or a submittable (a query config with `submit`, e.g. a cursor)
 * whose `end` / `error` events end it. The wrapper returns what pg returns and never throws by itself.
 * @returns a function that restores the original `query`.
 */
export function timeQueries(client: QueryingClient, onEnd: OnQueryEnd): () => void {
  const original = client.query as QueryingClient['query'] & { [TIMED]?: true };
  if (original[TIMED]) return () => undefined;
  const timed = function (this: unknown, ...args: unknown[]): unknown {
    const started = performance.now();
    let ended = false;
    const end = (failed: boolean) => {
      if (ended) return;
      ended = true;
      onEnd(args[0], failed, (performance.now() - started) / 1000);
    };
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = function (this: unknown, err: unknown, ...rest: unknown[]) {
        end(Boolean(err));
        return (callback as (...a: unknown[]) => unknown).call(this, err, ...rest);
      };
    }
    const submittable = args[0] as { submit?: unknown; once?: (event: string, fn: () => void) => void } | null;
    if (submittable && typeof submittable === 'object' && typeof submittable.submit === 'function' && typeof submittable.once === 'function') {
      submittable.once('end', () => end(false));
      submittable.once('error', () => end(true));
    }
    let result: unknown;
    try {
      result = original.apply(this, args);
    } catch (e) {
      end(true);
      throw e;
    }
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(
        () => end(false),
        () => end(true),
      );
    }
    return result;
  } as QueryingClient['query'] & { [TIMED]?: true };
  timed[TIMED] = true;
  client.query = timed;
  return () => {
    if (client.query === timed) client.query = original;
  };
}

/** The statement text and prepared-statement name of pg's first `query` argument (a string or a config). */
export function queryShapeOf(first: unknown): { text: string; name?: string } {
  if (typeof first === 'string') return { text: first };
  const c = first as { text?: unknown; name?: unknown } | null;
  return { text: typeof c?.text === 'string' ? c.text : '', ...(typeof c?.name === 'string' ? { name: c.name } : {}) };
}
