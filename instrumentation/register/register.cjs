'use strict';
/**
 * `node --require otel-contracts/register app.js`: the CommonJS entry of the preload (see register.ts).
 * Node >= 22.12 can require() an ES module without top-level await, which preload.ts is; it runs
 * synchronously here, so fs/dns are wrapped before the app's first line.
 */
try {
  require('./preload.ts').startPreload();
} catch (err) {
  process.stderr.write(`otel-contracts preload disabled: ${(err && err.message) || String(err)}\n`);
}
