/**
 * `node --import otel-contracts/register app.js`: podtrace process metrics, cgroup resources and the trc
 * HTTP families for any Node service, with no code change (issue 5; seeds 003 and 002 section A).
 * Configuration by environment only; see preload.ts (`startPreload`) and options.ts.
 *
 * The preload is loaded dynamically inside a try so that even a broken installation (a missing
 * dependency) logs one line and lets the app start, instead of failing `--import`.
 */
try {
  const { startPreload } = await import('./preload.ts');
  startPreload();
} catch (err) {
  process.stderr.write(`otel-contracts preload disabled: ${(err as Error)?.message ?? String(err)}\n`);
}
