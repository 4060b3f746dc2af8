/**
 * The repository's toolchain: npm scripts and `npx` run the Node pinned in devDependencies.node, and
 * `.npmrc` tells npm to judge `engines` against that same version (not the machine's Node, on which
 * npm itself may run), so an install reports only what concerns the Node that runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './processes.ts';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string>; engines: { node: string } };
const npmrcNodeVersion = /^node-version=(.+)$/m.exec(readFileSync(join(REPO_ROOT, '.npmrc'), 'utf8'))?.[1]?.trim();

describe('toolchain', () => {
  it('.npmrc judges engines against the pinned Node, and the tests run on it', () => {
    expect(npmrcNodeVersion).toBe(pkg.devDependencies.node);
    expect(process.version).toBe(`v${pkg.devDependencies.node}`);
  });

  it('the pinned Node satisfies the package engines floor', () => {
    const floor = /^>=(\d+)\.(\d+)$/.exec(pkg.engines.node);
    expect(floor).not.toBeNull();
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    expect(major * 1000 + minor).toBeGreaterThanOrEqual(Number(floor![1]) * 1000 + Number(floor![2]));
  });
});
