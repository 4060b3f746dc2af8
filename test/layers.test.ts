/**
 * Imports go one way (DESIGN.md, "Rooms"): semconv → instrumentation → collectors → preload, components
 * and otel-config → bin and the package entry. A directory never imports one that depends on it, so
 * each layer can be read, tested and shipped without the ones above it. Tests, test support, fixtures,
 * benches and the e2e suite sit above every layer and are not checked.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './processes.ts';

/** Rank of each top-level directory (and the package entry): an import must go to a lower rank or stay inside. */
const RANK: Readonly<Record<string, number>> = {
  semconv: 0,
  instrumentation: 1,
  collectors: 2,
  preload: 3,
  components: 3,
  'otel-config': 3,
  bin: 4,
  'index.ts': 4,
  scripts: 5,
};

/** Files of the shipped layers, without tests and their support. */
function productionFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '*.ts'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && RANK[f.split('/')[0] as string] !== undefined)
    .filter((f) => !/\.test\.ts$|(^|\/)(testing|fixtures|test)\//.test(f));
}

/** Relative import specifiers of a TypeScript file (static, dynamic and type-only imports, re-exports), as tsc reads them. */
function relativeImports(text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((f) => f.startsWith('./') || f.startsWith('../'));
}

/** `a -> b` for every import from a file of layer a into a layer b of the same or a higher rank. */
function layerViolations(files: readonly string[], read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8')): string[] {
  const out: string[] = [];
  for (const file of files) {
    const from = file.split('/')[0] as string;
    for (const spec of relativeImports(read(file))) {
      const target = relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), spec));
      const to = target.split('/')[0] as string;
      if (to === from) continue;
      const rank = RANK[to];
      if (rank === undefined || rank >= (RANK[from] as number)) out.push(`${file} imports ${target} (${from} may import only ${Object.keys(RANK).filter((d) => (RANK[d] as number) < (RANK[from] as number)).join(', ') || 'nothing outside itself'})`);
    }
  }
  return out;
}

describe('layers', () => {
  it('every import of the shipped code goes to a lower layer', () => {
    const files = productionFiles();
    expect(files.length).toBeGreaterThan(100);
    expect(layerViolations(files)).toEqual([]);
  });

  it('an upward or sideways import is a violation; a downward one is not', () => {
    const source: Record<string, string> = {
      'instrumentation/up.ts': "import { check } from '../components/check/check.ts';",
      'components/sideways.ts': "import type { PreloadHandle } from '../preload/preload.ts';",
      'collectors/down.ts': "import { createPipeline } from '../instrumentation/pipeline.ts';\nexport { x } from './x.ts';",
      'bin/dynamic.ts': "const m = await import('../scripts/build.ts');",
    };
    const found = layerViolations(Object.keys(source), (f) => source[f] as string);
    expect(found.map((v) => v.split(' imports ')[0])).toEqual(['instrumentation/up.ts', 'components/sideways.ts', 'bin/dynamic.ts']);
  });
});
