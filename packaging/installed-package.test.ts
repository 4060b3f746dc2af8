/**
 * The package as users get it: `npm pack` (which builds through `prepack`), then an install of the
 * tarball into a fresh project outside the repository, used there on Node 24 and on the engine floor,
 * Node 22.15 (the `node@22.15.0` package from npm, cached in `.cache/node22`). Tests inside the
 * repository never see a missing file in the tarball or an entry point Node cannot load from
 * node_modules; this one does.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { find, parseExposition, scrapeUntil, total } from '../test/exposition.ts';
import { freePort } from '../test/ports.ts';
import { REPO_ROOT, NODE_BIN, runProcess, startProcess, stopAllProcesses } from '../test/processes.ts';

const FIXTURES = join(REPO_ROOT, 'packaging', 'fixtures');
const NODE22_DIR = join(REPO_ROOT, '.cache', 'node22');
const NODE22_VERSION = '22.15.0';
const npm = 'npm';

let project: string;
let node22: string;

/** Runs a command to completion (5 min bound) and fails the test with its output unless it exits 0. */
async function mustRun(name: string, command: string, args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<string> {
  const r = await runProcess(name, command, args, opts.env ?? {}, { cwd: opts.cwd, timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`${name} failed:\n${r.describe}`);
  return r.stdout;
}

/** The first ```ts block after the README's "### In your code" heading: the example users copy. */
function readmeExample(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### In your code'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README.md has no ```ts block under "### In your code"');
  return m[1] as string;
}

/**
 * A copy of the repository's files (tracked and new, not ignored) with the repository's node_modules
 * linked in: `npm pack` there builds into the copy's own dist/, never under the feet of other suites
 * that load the repository's dist/ at the same time.
 */
function sourceCopy(into: string): string {
  const dir = join(into, 'source');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) if (existsSync(join(REPO_ROOT, f))) cpSync(join(REPO_ROOT, f), join(dir, f), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

beforeAll(async () => {
  const work = mkdtempSync(join(tmpdir(), 'otel-contracts-installed-'));
  project = join(work, 'consumer');
  mkdirSync(project);
  // `npm pack` runs `prepare` (the build), so the tarball holds a fresh dist/.
  const packed = await mustRun('npm pack', npm, ['pack', '--json', '--pack-destination', project], { cwd: sourceCopy(work) });
  const tarball = join(project, (JSON.parse(packed.slice(packed.indexOf('['))) as { filename: string }[])[0]!.filename);
  // What `npm init -y` writes: a CommonJS project, where the README example must compile too.
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }));
  await mustRun('npm install <tarball>', npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project });
  for (const f of ['record.mjs', 'record.cjs', 'out-of-enum.ts', 'http-app.cjs']) copyFileSync(join(FIXTURES, f), join(project, f));
  writeFileSync(join(project, 'readme-example.ts'), readmeExample());
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2024',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2024'],
        types: ['node'],
        typeRoots: [join(REPO_ROOT, 'node_modules', '@types')],
        strict: true,
        skipLibCheck: true,
        noEmit: true,
      },
    }),
  );

  node22 = join(NODE22_DIR, 'node_modules', '.bin', 'node');
  if (!existsSync(node22)) {
    mkdirSync(NODE22_DIR, { recursive: true });
    writeFileSync(join(NODE22_DIR, 'package.json'), JSON.stringify({ private: true }));
    await mustRun(`npm install node@${NODE22_VERSION}`, npm, ['install', '--no-audit', '--no-fund', '--no-save', `node@${NODE22_VERSION}`], { cwd: NODE22_DIR });
  }
}, 600_000);

afterEach(() => stopAllProcesses(5_000));
afterAll(() => {
  if (project) rmSync(dirname(project), { recursive: true, force: true });
});

describe('the tarball', () => {
  it('holds the built entry points and no tests, fixtures or benches', () => {
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules', 'otel-contracts', 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const root = join(project, 'node_modules', 'otel-contracts');
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/preload/register.mjs', 'dist/preload/register.cjs', 'dist/semconv/load.js', pkg.bin['otel-contracts'] as string]) {
      expect(existsSync(join(root, f)), f).toBe(true);
    }
    for (const f of ['test', 'e2e', 'bench', 'packaging', 'preload', 'dist/preload/fixtures', 'dist/instrumentation/push.test.js', 'instrumentation']) {
      expect(existsSync(join(root, f)), f).toBe(false);
    }
  });

  it('type-checks the README example against the shipped .d.ts', async () => {
    const r = await runProcess('tsc readme-example.ts', NODE_BIN, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {}, { cwd: project, timeoutMs: 120_000 });
    const errors = r.stdout.split('\n').filter((l) => l.includes('error TS'));
    expect(errors.filter((l) => !l.startsWith('out-of-enum.ts'))).toEqual([]);
    // The same compile rejects the out-of-enum label value, on its line, as a type error.
    expect(errors.some((l) => l.startsWith('out-of-enum.ts(5,') && l.includes('"alowed"'))).toBe(true);
  });
});

for (const runtime of ['24', '22'] as const) {
  describe(`on Node ${runtime}`, () => {
    const node = () => (runtime === '24' ? NODE_BIN : node22);
    /** PATH with this Node first, as a user's shell would have it. */
    const env = () => ({ PATH: `${dirname(node())}${delimiter}${process.env.PATH ?? ''}`, OTEL_METRICS_EXPORTER: 'prometheus' });

    it('reports the expected Node version', async () => {
      const out = await mustRun('node -v', node(), ['-v'], { cwd: project });
      expect(out.trim().startsWith(`v${runtime === '24' ? '24' : NODE22_VERSION}`)).toBe(true);
    });

    it('an ESM import records and renders a family', async () => {
      const text = await mustRun('record.mjs', node(), ['record.mjs'], { cwd: project, env: env() });
      const samples = parseExposition(text);
      expect(total(samples, 'opensandbox_egress_dns_queries_total', { result: 'allowed' })).toBe(1);
    });

    it('a CommonJS require records and renders a family', async () => {
      const text = await mustRun('record.cjs', node(), ['record.cjs'], { cwd: project, env: env() });
      const samples = parseExposition(text);
      expect(total(samples, 'opensandbox_egress_dns_queries_total', { result: 'denied' })).toBe(1);
    });

    it('npx otel-contracts sample serves every family', async () => {
      const port = await freePort();
      const p = startProcess('npx otel-contracts sample', npm, ['exec', '--no', '--', 'otel-contracts', 'sample', '--contract', 'egress', '--listen', `127.0.0.1:${port}`], env(), { cwd: project });
      const samples = await scrapeUntil(`http://127.0.0.1:${port}/metrics`, 'the installed CLI to serve the egress sample', (s) => find(s, 'opensandbox_egress_dns_queries_total').length > 0, {
        timeoutMs: 30_000,
        intervalMs: 250,
      });
      expect(find(samples, 'opensandbox_egress_info').length).toBeGreaterThan(0);
      await p.stop(); // npm exec dies of the SIGTERM sent to the group; the sample's own exit is tested elsewhere
    });

    for (const flag of ['--import', '--require'] as const) {
      it(`${flag} otel-contracts/register instruments a node:http app`, async () => {
        const app = startProcess(`${flag} http-app`, node(), [flag, 'otel-contracts/register', 'http-app.cjs'], { ...env(), OTEL_EXPORTER_PROMETHEUS_PORT: '0' }, { cwd: project });
        const ready = await app.waitForLine(/^\{"port":(\d+)\}$/);
        const started = await app.waitForLine(/otel-contracts preload started/, { stream: 'stderr' });
        const scrapeUrl = (JSON.parse(started.input as string) as { scrapeUrl: string }).scrapeUrl;
        expect((await fetch(`http://127.0.0.1:${ready[1]}/users/7`)).status).toBe(200);
        const samples = await scrapeUntil(scrapeUrl, 'the request in trc_http_requests_total', (s) => total(s, 'trc_http_requests_total') === 1);
        expect(find(samples, 'trc_http_requests_total', { method: 'GET', status: '200' })).toHaveLength(1);
        expect((await app.stop()).code).toBe(0);
      });
    }
  });
}
