/**
 * The repository's toolchain: npm scripts and `npx` run the Node pinned in devDependencies.node (npm
 * itself may run on the machine's older Node; `.npmrc` keeps its engine warnings about that one quiet).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './processes.ts';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string>; engines: { node: string } };

describe('toolchain', () => {
  it('the tests run on the pinned Node', () => {
    expect(process.version).toBe(`v${pkg.devDependencies.node}`);
  });

  it('the pinned Node satisfies the package engines floor', () => {
    const floor = /^>=(\d+)\.(\d+)$/.exec(pkg.engines.node);
    expect(floor).not.toBeNull();
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    expect(major * 1000 + minor).toBeGreaterThanOrEqual(Number(floor![1]) * 1000 + Number(floor![2]));
  });
});
