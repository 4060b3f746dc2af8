/**
 * Which parts of the repository record a family: the collector, component and example folders whose
 * TypeScript sources address its recorder (`rec.<family>.add(...)`, `m.<family>.record(...)`).
 * `components/sample` (records everything) and `components/check` (reads, never records) are left out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Source roots that record into the contracts, relative to the repository root. */
export const RECORDING_ROOTS = ['collectors', 'components', 'preload', 'examples'] as const;
const NOT_RECORDING = new Set(['components/sample', 'components/check']);

function sources(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'fixtures' || e.name === 'testing' || e.name === 'test' ? [] : sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.bench.ts') ? [p] : [];
  });
}

/** The folder a source file is credited to: `collectors/runtime`, `components/egress-sidecar`, `preload`. */
function owner(file: string): string | undefined {
  const parts = file.split('/');
  if (parts[0] === 'preload') return 'preload';
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : undefined;
}

/**
 * For each family name, the folders that record it, sorted; families nothing records are absent.
 * Reads the sources under {@link RECORDING_ROOTS} of `root`.
 */
export function recordedBy(root: string, familyNames: readonly string[]): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const file of RECORDING_ROOTS.flatMap((r) => sources(join(root, r)))) {
    const rel = relative(root, file).split('\\').join('/');
    const folder = owner(rel);
    if (!folder || NOT_RECORDING.has(folder)) continue;
    const text = readFileSync(file, 'utf8');
    for (const name of familyNames) {
      if (new RegExp(`\\.${name}(?![A-Za-z0-9_])`).test(text)) {
        if (!out.has(name)) out.set(name, new Set());
        out.get(name)?.add(folder);
      }
    }
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}
