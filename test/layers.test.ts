/**
 * Imports go one way (DESIGN.md, "Rooms"): semconv → instrumentation → collectors → preload, components
 * and otel-config → bin and the package entry. A directory never imports one that depends on it, so
 * each layer can be read, tested and shipped without the ones above it. Tests, test support, fixtures,
 * benches and the e2e suite sit above every layer and are not checked.
 *
 * Two rules more for `instrumentation/` ("knows nothing of any component or collector, and holds nothing
 * that only components use"): every shipped file of it is reached from outside `components/` (or is a
 * package entry), and inside it imports go down one order of its files and folders ({@link INSTRUMENTATION_ORDER}).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

/** Files of the shipped layers, without tests and their support: as the working tree has them (tracked or new, not deleted). */
function productionFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '*.ts'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && RANK[f.split('/')[0] as string] !== undefined)
    .filter((f) => !/\.test\.ts$|(^|\/)(testing|fixtures|test)\//.test(f))
    .filter((f) => existsSync(join(REPO_ROOT, f)));
}

/** Relative import specifiers of a TypeScript file (static, dynamic and type-only imports, re-exports), as tsc reads them. */
function relativeImports(text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((f) => f.startsWith('./') || f.startsWith('../'));
}

/** Reads a file of the repository. */
const readRepoFile = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');

/** The repository paths a file's relative imports name. */
function importedPaths(file: string, read: (file: string) => string): string[] {
  return relativeImports(read(file)).map((spec) => relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), spec)));
}

/** `a -> b` for every import from a file of layer a into a layer b of the same or a higher rank. */
function layerViolations(files: readonly string[], read = readRepoFile): string[] {
  const out: string[] = [];
  for (const file of files) {
    const from = file.split('/')[0] as string;
    for (const target of importedPaths(file, read)) {
      const to = target.split('/')[0] as string;
      if (to === from) continue;
      const rank = RANK[to];
      if (rank === undefined || rank >= (RANK[from] as number)) out.push(`${file} imports ${target} (${from} may import only ${Object.keys(RANK).filter((d) => (RANK[d] as number) < (RANK[from] as number)).join(', ') || 'nothing outside itself'})`);
    }
  }
  return out;
}

/** The top-level directories (and the package entry) whose shipped files may reach into `instrumentation/`, besides itself. */
const REACHES_INSTRUMENTATION = new Set(['collectors', 'preload', 'otel-config', 'bin', 'index.ts']);

/** The sources of the package's entries (`exports` and `main` of package.json: `./dist/x/y.js` → `x/y.ts`). */
function packageEntries(): string[] {
  const pkg = JSON.parse(readRepoFile('package.json')) as { main?: string; exports?: Record<string, string | Record<string, string>> };
  const targets = [pkg.main ?? '', ...Object.values(pkg.exports ?? {}).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)))];
  return targets.map((t) => /^\.\/dist\/(.+)\.(?:js|mjs|cjs|d\.ts)$/.exec(t)?.[1]).filter((t): t is string => t !== undefined).map((t) => `${t}.ts`);
}

/**
 * Every shipped `instrumentation/` file that nothing outside `components/` reaches: not imported by a file
 * of {@link REACHES_INSTRUMENTATION}, nor by an `instrumentation/` file so reached, and not a package
 * entry. Such a file serves components only and belongs with them (`components/kit/`, or the one
 * component that uses it).
 */
function componentOnlyInstrumentation(files: readonly string[], entries: readonly string[], read = readRepoFile): string[] {
  const top = (f: string) => f.split('/')[0] as string;
  const reached = new Set(files.filter((f) => REACHES_INSTRUMENTATION.has(top(f)) || entries.includes(f)));
  const queue = [...reached];
  for (let f = queue.pop(); f !== undefined; f = queue.pop()) {
    for (const target of importedPaths(f, read)) {
      if (top(target) === 'components' || reached.has(target)) continue;
      reached.add(target);
      queue.push(target);
    }
  }
  return files.filter((f) => top(f) === 'instrumentation' && !reached.has(f)).map((f) => `${f} is reached only from components/ (move it there, e.g. to components/kit/)`);
}

/**
 * The order inside `instrumentation/`, top first: a file may import files of its own unit (the same file
 * or subfolder) and of units further down, never up nor sideways. The assembly (pipeline.ts) sits on its
 * parts (pipeline/), which sit on the leaf readers and writers (scrape/, push/), which sit on the
 * recorders and the Views, with the configuration and the logger at the bottom. A new file or folder must
 * be placed here.
 */
const INSTRUMENTATION_ORDER: readonly (readonly string[])[] = [
  ['exit.ts'],
  ['pipeline.ts'],
  ['pipeline/'],
  ['scrape/', 'push/'],
  ['recorders.ts'],
  ['views.ts', 'instance-labels.ts'],
  ['series-point.ts'],
  ['config.ts', 'logger.ts'],
];

/** The unit of an `instrumentation/` file: `x.ts` for a file at the top, `x/` for anything in a subfolder. */
function unitOf(file: string): string {
  const [, first, second] = file.split('/');
  return second === undefined ? (first as string) : `${first}/`;
}

/** `a imports b` for every import inside `instrumentation/` that goes up or sideways in {@link INSTRUMENTATION_ORDER}, or involves a unit it does not place. */
function instrumentationOrderViolations(files: readonly string[], read = readRepoFile): string[] {
  const level = (unit: string) => INSTRUMENTATION_ORDER.findIndex((row) => row.includes(unit));
  const out: string[] = [];
  for (const file of files.filter((f) => f.startsWith('instrumentation/'))) {
    const from = unitOf(file);
    if (level(from) < 0) out.push(`${file}: ${from} has no place in INSTRUMENTATION_ORDER`);
    for (const target of importedPaths(file, read)) {
      if (!target.startsWith('instrumentation/')) continue;
      const to = unitOf(target);
      if (to === from) continue;
      if (level(to) < 0 || level(to) <= level(from)) out.push(`${file} imports ${target} (${to} is not below ${from} in INSTRUMENTATION_ORDER)`);
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

  it('every shipped instrumentation file is reached from outside components/ or is a package entry', () => {
    const files = productionFiles();
    expect(files.filter((f) => f.startsWith('instrumentation/')).length).toBeGreaterThan(20);
    expect(packageEntries()).toContain('index.ts');
    expect(componentOnlyInstrumentation(files, packageEntries())).toEqual([]);
  });

  it('an instrumentation file reached only from components/ is a violation, also through another instrumentation file', () => {
    const source: Record<string, string> = {
      'components/x/main.ts': "import { a } from '../../instrumentation/only-components.ts';\nimport { b } from '../../instrumentation/used.ts';",
      'instrumentation/only-components.ts': "import { c } from './behind-it.ts';",
      'instrumentation/behind-it.ts': '',
      'collectors/c.ts': "import type { U } from '../instrumentation/used.ts';",
      'instrumentation/used.ts': "export { d } from './deep.ts';",
      'instrumentation/deep.ts': '',
      'index.ts': "export { e } from './instrumentation/exported.ts';",
      'instrumentation/exported.ts': '',
      'instrumentation/entry.ts': '',
      'instrumentation/orphan.ts': '',
    };
    const found = componentOnlyInstrumentation(Object.keys(source), ['instrumentation/entry.ts'], (f) => source[f] as string);
    expect(found.map((v) => v.split(' ')[0])).toEqual(['instrumentation/only-components.ts', 'instrumentation/behind-it.ts', 'instrumentation/orphan.ts']);
  });

  it('inside instrumentation/, every import goes down INSTRUMENTATION_ORDER', () => {
    expect(instrumentationOrderViolations(productionFiles())).toEqual([]);
  });

  it('an import up or sideways in INSTRUMENTATION_ORDER, or from a unit it does not place, is a violation; down or inside a unit is not', () => {
    const source: Record<string, string> = {
      'instrumentation/recorders.ts': "import type { SeriesMatcher } from './pipeline/series-store.ts';\nimport { x } from './views.ts';",
      'instrumentation/scrape/reader.ts': "import { y } from '../push/otlp.ts';\nimport { z } from './serializer.ts';",
      'instrumentation/config.ts': "import { createLogger } from './logger.ts';",
      'instrumentation/pipeline/readers.ts': "import { ScrapeReader } from '../scrape/reader.ts';\nimport { CumulativeReader } from './cumulative-reader.ts';\nimport { readConfig } from '../config.ts';",
      'instrumentation/exit.ts': "import type { Pipeline } from './pipeline.ts';\nimport { semconv } from '../semconv/index.ts';",
      'instrumentation/unplaced.ts': "import { readConfig } from './config.ts';",
      'instrumentation/views.ts': "import { u } from './unplaced.ts';",
    };
    const found = instrumentationOrderViolations(Object.keys(source), (f) => source[f] as string);
    expect(found.map((v) => v.split(/:? /)[0] + (v.includes(' imports ') ? ` -> ${v.split(' ')[2]}` : ' (unplaced)'))).toEqual([
      'instrumentation/recorders.ts -> instrumentation/pipeline/series-store.ts',
      'instrumentation/scrape/reader.ts -> instrumentation/push/otlp.ts',
      'instrumentation/config.ts -> instrumentation/logger.ts',
      'instrumentation/unplaced.ts (unplaced)',
      'instrumentation/views.ts -> instrumentation/unplaced.ts',
    ]);
  });
});
