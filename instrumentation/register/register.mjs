/**
 * `node --import otel-contracts/register app.js`: podtrace process metrics, cgroup resources and the trc
 * HTTP families for any Node service, with no code change (issue 5; seeds 003 and 002 section A).
 * Configuration by environment only; see preload.ts (`startPreload`) and options.ts.
 *
 * Plain JavaScript on purpose: it loads the bundled preload (`dist/preload.mjs`, built by `npm ci` or
 * `npm run build`), one file with nothing to type-strip, and falls back to the TypeScript sources when no
 * bundle was built. Unless `OTEL_CONTRACTS_COMPILE_CACHE=false`, Node's on-disk compile cache is enabled
 * first (`module.enableCompileCache()`, under the OS temp dir or `NODE_COMPILE_CACHE`); the cache is per
 * process, so the app's modules use it too. The preload is loaded inside a try, so that even a broken
 * installation logs one line and lets the app start instead of failing `--import`.
 */
import * as nodeModule from 'node:module';
import { existsSync } from 'node:fs';

if (process.env.OTEL_CONTRACTS_COMPILE_CACHE !== 'false') {
  try {
    nodeModule.enableCompileCache?.();
  } catch {
    // read-only file system or an older Node: start without the cache
  }
}
try {
  const bundle = new URL('../../dist/preload.mjs', import.meta.url);
  const { startPreload } = await import(existsSync(bundle) ? bundle.href : './preload.ts');
  startPreload();
} catch (err) {
  process.stderr.write(`otel-contracts preload disabled: ${err?.message ?? String(err)}\n`);
}
