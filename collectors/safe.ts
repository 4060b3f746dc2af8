import type { Collector, CollectorLogger } from './types.ts';

/**
 * `fn` made unable to throw: for diagnostics-channel subscribers (diagnostics_channel rethrows a
 * subscriber's error as an uncaught exception) and anything else a collector runs on the app's behalf.
 */
export function guarded<T>(fn: (arg: T) => void): (arg: T) => void {
  return (arg) => {
    try {
      fn(arg);
    } catch {
      // never into the app
    }
  };
}

/** A {@link Collector.stop} that runs `undo` the first time only, so stopping is idempotent. */
export function stopOnce(undo: () => void): () => void {
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    undo();
  };
}

/** A recorder taking the podtrace `{type, process_name}` labels. */
interface TypedRecorder<T extends string> {
  record(value: number, labels: { readonly type: T; readonly process_name: string }): void;
}

/**
 * Records each value into a podtrace histogram and its latest-value gauge, both with
 * `{type, process_name}` (the DNS, TCP connect and CPU block pairs). Never throws.
 */
export function pairRecorder<T extends string>(histogram: TypedRecorder<T>, gauge: TypedRecorder<T>, type: T, processName: () => string): (value: number) => void {
  return guarded((value: number) => {
    const labels = { type, process_name: processName() } as const;
    histogram.record(value, labels);
    gauge.record(value, labels);
  });
}

/**
 * Starts one collector. When it cannot start, logs one line naming it and returns undefined: the
 * others carry on.
 */
export function tryStart<C extends Collector>(name: string, start: () => C, logger: CollectorLogger): C | undefined {
  try {
    return start();
  } catch (err) {
    logger.warn({ collector: name, err: (err as Error).message }, `collector ${name} not started; the others carry on`);
    return undefined;
  }
}
