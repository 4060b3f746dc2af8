/**
 * A component run as a child process by the tests logs JSON lines (pino) on stderr: its "listening" line
 * says where it listens, and tests read the other lines for what it did.
 */
import type { TestProcess } from './processes.ts';

/** One parsed log line; a line that is not JSON is `{ raw }`. */
export type LogLine = Record<string, unknown>;

/**
 * Waits for the stderr line matching `re` (the component's "listening" line) and parses it.
 * @throws with the child's output when it exits first or is not ready within `timeoutMs`; it is stopped then.
 */
export async function readyLine(p: TestProcess, re: RegExp, timeoutMs = 20_000): Promise<LogLine> {
  try {
    const m = await p.waitForLine(re, { stream: 'stderr', timeoutMs });
    return JSON.parse(m.input as string) as LogLine;
  } catch (e) {
    await p.stop('SIGTERM', 1000);
    throw e;
  }
}

/** Every stderr line of `p` so far, parsed. */
export function logLines(p: TestProcess): LogLine[] {
  return p
    .stderr()
    .split('\n')
    .filter(Boolean)
    .map((raw) => {
      try {
        return JSON.parse(raw) as LogLine;
      } catch {
        return { raw };
      }
    });
}
