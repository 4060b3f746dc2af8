/**
 * The fixtures' stdout protocol: one `E2E {json}` line per message (logs go to stderr).
 */
import type { TestProcess } from '../../test/processes.ts';

/**
 * Waits for the fixture's first `E2E {...}` line that has `key` and returns the parsed object.
 * @throws Error with the process's output when it exits first or `timeoutMs` passes.
 */
export async function waitForMessage<T extends object>(p: TestProcess, key: string, timeoutMs = 30_000): Promise<T> {
  const m = await p.waitForLine(new RegExp(`^E2E (\\{.*"${key}".*\\})$`), { timeoutMs });
  return JSON.parse(m[1] as string) as T;
}
