/**
 * Bundles the preload into two self-contained files, `dist/preload.mjs` (for `--import`) and
 * `dist/preload.cjs` (for `--require`), so that `node --import otel-contracts/register` loads one file
 * of plain JavaScript instead of about a hundred modules and their type stripping: this is most of the
 * start-up time the preload adds (issue 5's target is 150 ms), and Node refuses to strip types under
 * node_modules anyway. Runs on `npm ci` (prepare), before the unit tests and before `bench:preload`.
 *
 *   node instrumentation/register/bundle.ts
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { renameSync } from 'node:fs';
import { build } from 'rolldown';

/** The folder the bundles are written to: `dist/` at the repository root. */
export const DIST_DIR = fileURLToPath(new URL('../../dist/', import.meta.url));
const ENTRY = fileURLToPath(new URL('./preload.ts', import.meta.url));

/**
 * Writes `dist/preload.mjs` and `dist/preload.cjs`, each exporting `startPreload`.
 * @throws the bundler's error (a syntax or resolution error in the preload's module graph).
 */
export async function bundlePreload(): Promise<string[]> {
  const files: string[] = [];
  for (const [format, name] of [['esm', 'preload.mjs'], ['cjs', 'preload.cjs']] as const) {
    const file = join(DIST_DIR, name);
    // Written beside and renamed into place, so a process starting meanwhile never loads half a file.
    const partial = join(DIST_DIR, `.${name}.${process.pid}.partial`);
    await build({ input: ENTRY, platform: 'node', logLevel: 'warn', output: { format, file: partial, codeSplitting: false } });
    renameSync(partial, file);
    files.push(file);
  }
  return files;
}

/** vitest globalSetup: the tests spawn `--import otel-contracts/register`, so they get a fresh bundle. */
export async function setup(): Promise<void> {
  await bundlePreload();
}

if (import.meta.main) {
  const files = await bundlePreload();
  console.log(`bundled the preload: ${files.join(', ')}`);
}
