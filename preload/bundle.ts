/**
 * Bundles the preload entry (`preload/register.ts`) into two self-contained files,
 * `dist/preload/register.mjs` (for `--import`) and `dist/preload/register.cjs` (for `--require`), the
 * targets of the package's `./register` export. One file of plain JavaScript with every dependency
 * inside loads far faster than about a hundred modules (start-up is most of what a preload costs), and
 * Node refuses to strip types under node_modules anyway. Part of `npm run build` (and so of `npm pack`);
 * also the unit and e2e suites' globalSetup, since their apps start with `--import otel-contracts/register`.
 *
 *   node preload/bundle.ts
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { mkdirSync, renameSync } from 'node:fs';
import { build } from 'rolldown';

/** The folder the bundles are written to: `dist/preload/` at the package root. */
const OUT_DIR = fileURLToPath(new URL('../dist/preload/', import.meta.url));
const ENTRY = fileURLToPath(new URL('./register.ts', import.meta.url));

/**
 * Writes `dist/preload/register.mjs` and `dist/preload/register.cjs`.
 * @returns the two paths.
 * @throws the bundler's error (a syntax or resolution error in the preload's module graph).
 */
export async function bundlePreload(): Promise<string[]> {
  mkdirSync(OUT_DIR, { recursive: true });
  const files: string[] = [];
  for (const [format, name] of [['esm', 'register.mjs'], ['cjs', 'register.cjs']] as const) {
    const file = join(OUT_DIR, name);
    // Written beside and renamed into place, so a process starting meanwhile never loads half a file.
    const partial = join(OUT_DIR, `.${name}.${process.pid}.partial`);
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
