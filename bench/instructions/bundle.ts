import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

/**
 * Bundles child.ts into plain JavaScript for callgrind: Node's type stripping runs swc compiled to
 * WebAssembly, about 1.5 billion instructions per start under callgrind, and a hundred module files cost
 * more to resolve than one. Each implementation's `setup` imports its code dynamically, so the bundle
 * splits there into chunks and a child loads only what it measures. Not minified: the code V8 optimises is
 * the source's, statement for statement.
 */

/** Where the bundle goes (`.cache/` is ignored by git). */
export const CHILD_DIR = fileURLToPath(new URL('../../.cache/instructions/', import.meta.url));
/** The bundle's entry. */
export const CHILD_ENTRY = `${CHILD_DIR}child.mjs`;

/**
 * Writes {@link CHILD_ENTRY} and its chunks, replacing an earlier bundle.
 * @throws the bundler's error (a syntax or resolution error in the paths' module graph).
 */
export async function bundleChild(): Promise<string> {
  rmSync(CHILD_DIR, { recursive: true, force: true });
  await build({
    input: { child: fileURLToPath(new URL('./child.ts', import.meta.url)) },
    platform: 'node',
    logLevel: 'warn',
    output: { format: 'esm', dir: CHILD_DIR, entryFileNames: '[name].mjs', chunkFileNames: '[name]-[hash].mjs' },
  });
  return CHILD_ENTRY;
}
