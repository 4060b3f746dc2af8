/**
 * The generated alert rules under Prometheus' own tool: `promtool check rules` on every rule file,
 * `promtool test rules` on every `.test.yml` (each alert fires in one case and stays quiet in
 * another), and the same tests against rules that never fire, to prove every firing case can fail.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { componentContracts } from '../../semconv/index.ts';
import { findExecutable } from '../stack/parts.ts';
import { layouts } from './layouts/index.ts';
import { REPO_ROOT, rulesPath, ruleTestsPath } from './outputs.ts';

/** promtool from PATH ($PROMTOOL_BIN overrides); the test fails, not skips, without it. */
function promtool(): string {
  const bin = findExecutable(process.env.PROMTOOL_BIN ?? 'promtool');
  if (!bin) throw new Error('promtool not found on PATH (it comes with Debian\'s `prometheus` package): run `npm run provision`, or set PROMTOOL_BIN');
  return bin;
}

function run(args: string[], cwd: string): { status: number | null; out: string } {
  const r = spawnSync(promtool(), args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const ids = Object.keys(componentContracts) as (keyof typeof componentContracts)[];
const scratch = mkdtempSync(join(tmpdir(), 'otel-contracts-rules-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('alert rules under promtool', () => {
  it.each(ids)('%s: `promtool check rules` accepts the rule file', (id) => {
    const r = run(['check', 'rules', rulesPath(id)], REPO_ROOT);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`SUCCESS: ${layouts[id].alerts.length} rules found`);
  });

  it.each(ids)('%s: `promtool test rules` passes a firing and a quiet case for every alert', (id) => {
    const tests = readFileSync(join(REPO_ROOT, ruleTestsPath(id)), 'utf8');
    for (const a of layouts[id].alerts) {
      expect(tests).toContain(`name: ${a.alert} fires`);
      expect(tests).toContain(`name: ${a.alert} stays quiet`);
    }
    const r = run(['test', 'rules', ruleTestsPath(id)], REPO_ROOT);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });

  it.each(ids)('%s: every firing case fails against rules whose expressions never fire', (id) => {
    const dir = join(scratch, id);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(REPO_ROOT, ruleTestsPath(id)), join(dir, `${id}.test.yml`));
    const neverFiring = readFileSync(join(REPO_ROOT, rulesPath(id)), 'utf8').replace(/^(\s+expr: ).*$/gm, '$1vector(1) == 0');
    writeFileSync(join(dir, `${id}.yml`), neverFiring);
    const r = run(['test', 'rules', `${id}.test.yml`], dir);
    expect(r.status, r.out).not.toBe(0);
    for (const a of layouts[id].alerts) expect(r.out, `${a.alert}: its firing case passed without the rule firing`).toContain(`alertname: ${a.alert},`);
  });
});
