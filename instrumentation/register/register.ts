/**
 * `node --import otel-contracts/register app.js`: podtrace process metrics, cgroup resources and the trc
 * HTTP families for any Node service, with no code change (issue 5; seeds 003 and 002 section A).
 * Configuration by environment only; see preload.ts (`startPreload`) and options.ts.
 *
 * Start-up: unless `OTEL_CONTRACTS_COMPILE_CACHE=false`, Node's on-disk compile cache is enabled first
 * (`module.enableCompileCache()`, in the default cache directory under the OS temp dir, or the one
 * `NODE_COMPILE_CACHE` names): from the second start on, the preload's modules (and the app's, as the
 * cache is per process) skip type stripping and compilation. Failure to enable it is ignored.
 *
 * The preload is loaded dynamically inside a try so that even a broken installation (a missing
 * dependency) logs one line and lets the app start, instead of failing `--import`.
 */
import * as nodeModule from 'node:module';

if (process.env.OTEL_CONTRACTS_COMPILE_CACHE !== 'false') {
  try {
    (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  } catch {
    // read-only file system or an older Node: start without the cache
  }
}
try {
  const { startPreload } = await import('./preload.ts');
  startPreload();
} catch (err) {
  process.stderr.write(`otel-contracts preload disabled: ${(err as Error)?.message ?? String(err)}\n`);
}
