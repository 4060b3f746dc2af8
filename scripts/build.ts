/**
 * The published build (`npm run build`, run by `prepack`, so `npm pack` and `npm publish` always ship a
 * fresh one): the library, the CLI and the registry loader as JavaScript with `.d.ts` types in `dist/`,
 * and the preload as one bundle (`dist/preload/register.cjs`, with chunks loaded only when the OTLP push is on)
 * and its ESM entry (`dist/preload/register.mjs`).
 * The repository's own scripts and tests keep running the TypeScript sources directly.
 *
 *   node scripts/build.ts
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundlePreload } from '../preload/bundle.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');

/** `.d.ts` files under `dir`, recursively. */
function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/**
 * tsc rewrites `./x.ts` to `./x.js` in the JavaScript it emits but not in the declarations, and a
 * project without `allowImportingTsExtensions` cannot read `.ts` specifiers; point them at `.js`.
 */
function rewriteDeclarationSpecifiers(): number {
  let changed = 0;
  for (const file of declarationFiles(DIST)) {
    const text = readFileSync(file, 'utf8');
    const out = text.replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1$2.js$3');
    if (out !== text) {
      writeFileSync(file, out);
      changed++;
    }
  }
  return changed;
}

const t0 = performance.now();
rmSync(DIST, { recursive: true, force: true });
console.log('build: tsc -p tsconfig.build.json (JavaScript and .d.ts into dist/)');
execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
console.log(`build: ${rewriteDeclarationSpecifiers()} declaration files point at .js`);
for (const f of await bundlePreload()) console.log(`build: bundled the preload into ${f}`);
console.log(`build: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
