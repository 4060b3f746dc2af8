import type { Pipeline } from '../instrumentation/pipeline.ts';

/** Where the running preload keeps its handle: a global symbol, so any copy of the package finds it. */
export const PRELOAD_HANDLE = Symbol.for('otel-contracts.preload');

/**
 * The pipeline of the preload running in this process (`node --import otel-contracts/register`), for the
 * app to record its own families through the same `/metrics` and push: start the app with
 * `OTEL_CONTRACTS_APP_CONTRACTS=trc` (for example) and ask `preloadPipeline()?.recorders(trc)`.
 * Works from any copy of the package (the preload is bundled apart from `import 'otel-contracts'`).
 * @returns undefined when no preload runs here (not preloaded, disabled, or in a worker thread).
 */
export function preloadPipeline(): Pipeline | undefined {
  const handle = (globalThis as { [PRELOAD_HANDLE]?: { pipeline: Pipeline } | null })[PRELOAD_HANDLE];
  return handle?.pipeline;
}
