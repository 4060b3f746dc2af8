/**
 * vitest globalSetup for the `e2e` project: starts the native stack once for the whole run and stops
 * it afterwards (see support/stack.ts). Register it in vitest.config.ts's e2e project:
 *   globalSetup: ['e2e/global-setup.ts'],
 * Without it, each test file that calls useStack() starts and stops its own stack.
 */
import type { TestProject } from 'vitest/node';
import { STACK_KEY, startE2eStack, stopE2eStack } from './support/stack.ts';

/** Starts the stack and provides its state directory to the test files; returns the teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stateDir = await startE2eStack();
  project.provide(STACK_KEY, stateDir);
  return () => stopE2eStack(stateDir);
}
