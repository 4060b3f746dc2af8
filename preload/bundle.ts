/**
 * Bundles the preload entry (`preload/register.ts`) into one self-contained CommonJS file,
 * `dist/preload/register.cjs` (for `--require`), and writes `dist/preload/register.mjs` (for `--import`),
 * which loads that same file with `require`. These are the targets of the package's `./register` export.
 * One file of plain JavaScript with every dependency inside loads far faster than about a hundred
 * modules (start-up is most of what a preload costs), and Node refuses to strip types under
 * node_modules anyway. The ESM entry requires the CommonJS bundle rather than being an ES module bundle
 * itself: an ES module that imports `node:http` evaluates every export of its ESM facade, and in Node 24
 * some of those getters load the bundled undici (about 20 ms of start-up, measured with --cpu-prof).
 * The bundle is minified, keeping function and class names (stack traces and logs still name them):
 * compiling 570 KB of source was the largest piece of start-up. What the preload imports dynamically (the
 * OTLP exporter, with its zlib and stream) goes to chunk files beside it, loaded only when the push is on.
 * Together: 573 → 236 KB at start, added start-up about 52 → 40 ms on a quiet run of this machine.
 * Part of `npm run build` (and so of `npm pack`); also the unit and e2e suites' globalSetup, since their
 * apps start with `--import otel-contracts/register`.
 *
 *   node preload/bundle.ts
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'rolldown';

/** The folder the bundles are written to: `dist/preload/` at the package root. */
const OUT_DIR = fileURLToPath(new URL('../dist/preload/', import.meta.url));
const ENTRY = fileURLToPath(new URL('./register.ts', import.meta.url));
/** Chunk files are named after their content, so a new build never overwrites one a running process may load. */
const CHUNK = /^chunk-.+\.cjs$/;

/** The `--import` entry: the CommonJS bundle, loaded synchronously so the preload runs before the app. */
const ESM_ENTRY = `// otel-contracts/register for --import: loads the bundled preload (see preload/bundle.ts).
import { createRequire } from 'node:module';
createRequire(import.meta.url)('./register.cjs');
`;

/**
 * Writes `dist/preload/register.cjs` (the bundle), its chunks and `dist/preload/register.mjs` (its ESM entry).
 * @returns the paths of the two entries.
 * @throws the bundler's error (a syntax or resolution error in the preload's module graph).
 */
export async function bundlePreload(): Promise<string[]> {
  // Built beside and moved into place, chunks before the entry that requires them, so a process starting
  // meanwhile never loads half a file or an entry without its chunks.
  const staging = `${OUT_DIR.replace(/\/$/, '')}.${process.pid}.partial`;
  rmSync(staging, { recursive: true, force: true });
  await build({
    input: { register: ENTRY },
    platform: 'node',
    logLevel: 'warn',
    output: { format: 'cjs', dir: staging, entryFileNames: '[name].cjs', chunkFileNames: 'chunk-[name]-[hash].cjs', minify: true, keepNames: true },
  });
  mkdirSync(OUT_DIR, { recursive: true });
  const before = readdirSync(OUT_DIR).filter((f) => CHUNK.test(f));
  const chunks = readdirSync(staging).filter((f) => CHUNK.test(f));
  for (const f of chunks) renameSync(join(staging, f), join(OUT_DIR, f));
  const cjs = join(OUT_DIR, 'register.cjs');
  const mjs = join(OUT_DIR, 'register.mjs');
  renameSync(join(staging, 'register.cjs'), cjs);
  writeFileSync(join(staging, 'register.mjs'), ESM_ENTRY);
  renameSync(join(staging, 'register.mjs'), mjs);
  rmSync(staging, { recursive: true, force: true });
  // Chunks of earlier builds that this one did not produce again.
  for (const f of before) if (!chunks.includes(f)) rmSync(join(OUT_DIR, f), { force: true });
  return [cjs, mjs];
}

/** vitest globalSetup: the tests spawn `--import otel-contracts/register`, so they get a fresh bundle. */
export async function setup(): Promise<void> {
  await bundlePreload();
}

if (import.meta.main) {
  const files = await bundlePreload();
  console.log(`bundled the preload: ${files.join(', ')}`);
}
