/**
 * `node --import otel-contracts/register app.js` (and `--require`): podtrace process metrics, cgroup
 * resources and the trc HTTP families for any Node service, with no code change (seeds 003 and 002
 * section A). Configuration by environment only; see preload.ts (`startPreload`) and options.ts.
 *
 * Built by preload/bundle.ts into one self-contained file per module system, `dist/preload/register.mjs`
 * and `dist/preload/register.cjs`: one file of plain JavaScript to load, nothing to resolve or type-strip.
 * Both start the preload synchronously, so `fs` and `dns` are wrapped before the app's first line.
 *
 * `OTEL_CONTRACTS_COMPILE_CACHE=true` also enables Node's on-disk compile cache for the whole process
 * (`module.enableCompileCache()`, under the OS temp dir or `NODE_COMPILE_CACHE`). It is off by default:
 * it writes files and changes how the app's own modules load, which a preload must not do unasked.
 */
import * as nodeModule from 'node:module';
import { startPreload } from './preload.ts';

if (process.env.OTEL_CONTRACTS_COMPILE_CACHE === 'true') {
  try {
    nodeModule.enableCompileCache?.();
  } catch {
    // read-only file system: start without the cache
  }
}
try {
  startPreload();
} catch (err) {
  // startPreload never throws by contract; this guards the app against a bug in it all the same.
  process.stderr.write(`otel-contracts preload disabled: ${(err as Error)?.message ?? String(err)}\n`);
}
