'use strict';
/**
 * `node --require otel-contracts/register app.js`: the CommonJS entry of the preload (see register.mjs,
 * also for the compile cache, `OTEL_CONTRACTS_COMPILE_CACHE=false` to turn it off). It loads the bundled
 * preload (`dist/preload.cjs`) synchronously, so fs and dns are wrapped before the app's first line, and
 * falls back to the TypeScript sources (Node >= 22.12 can require() an ES module) when no bundle was built.
 */
const { existsSync } = require('node:fs');
const { join } = require('node:path');

if (process.env.OTEL_CONTRACTS_COMPILE_CACHE !== 'false') {
  try {
    const { enableCompileCache } = require('node:module');
    if (enableCompileCache) enableCompileCache();
  } catch {
    // start without the cache
  }
}
try {
  const bundle = join(__dirname, '..', '..', 'dist', 'preload.cjs');
  require(existsSync(bundle) ? bundle : './preload.ts').startPreload();
} catch (err) {
  process.stderr.write(`otel-contracts preload disabled: ${(err && err.message) || String(err)}\n`);
}
