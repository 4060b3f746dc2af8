import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

/**
 * Bundles child.ts into plain JavaScript for callgrind: Node's type stripping runs swc compiled to
 * WebAssembly, about 1.5 billion instructions per start under callgrind, and a hundred module files cost
 * more to resolve than one. Each implementation's `setup` imports its code dynamically, so the bundle
 * splits there into chunks and a child loads only what it measures. Not minified: the code V8 optimises is
 * the source's, statement for statement.
 */

/** Where bundles go (`.cache/` is ignored by git): one directory per run, so that runs side by side (the bench and the budget test) never replace each other's. */
const BUNDLES_DIR = fileURLToPath(new URL('../../.cache/instructions/', import.meta.url));

/** A bundled child: its entry file, and `dispose` to remove it when the run is over. */
export interface ChildBundle {
  readonly entry: string;
  dispose(): void;
}

/**
 * Writes the child and its chunks into a new directory of its own.
 * @throws the bundler's error (a syntax or resolution error in the paths' module graph).
 */
export async function bundleChild(): Promise<ChildBundle> {
  mkdirSync(BUNDLES_DIR, { recursive: true });
  const dir = mkdtempSync(join(BUNDLES_DIR, 'run-'));
  try {
    await build({
      input: { child: fileURLToPath(new URL('./child.ts', import.meta.url)) },
      platform: 'node',
      logLevel: 'warn',
      output: { format: 'esm', dir, entryFileNames: '[name].mjs', chunkFileNames: '[name]-[hash].mjs' },
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { entry: join(dir, 'child.mjs'), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
