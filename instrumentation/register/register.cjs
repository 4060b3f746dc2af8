'use strict';
/**
 * `node --require otel-contracts/register app.js`: the CommonJS entry of the preload (see register.ts,
 * also for the compile cache, `OTEL_CONTRACTS_COMPILE_CACHE=false` to turn it off). Node >= 22.12 can
 * require() an ES module without top-level await, which preload.ts is; it runs synchronously here, so
 * fs/dns are wrapped before the app's first line.
 */
if (process.env.OTEL_CONTRACTS_COMPILE_CACHE !== 'false') {
  try {
    const { enableCompileCache } = require('node:module');
    if (enableCompileCache) enableCompileCache();
  } catch {
    // start without the cache
  }
}
try {
  require('./preload.ts').startPreload();
} catch (err) {
  process.stderr.write(`otel-contracts preload disabled: ${(err && err.message) || String(err)}\n`);
}
