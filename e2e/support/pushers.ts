/**
 * Short-lived pushers: fixture processes that record, get SIGTERM inside their first export interval
 * (so only the final push on exit can deliver what they recorded), and must exit 0 having delivered it.
 */
import { expect } from 'vitest';
import { STACK_PORTS } from '../../otel-config/stack.ts';
import { startNode, type ProcessEnv } from '../../test/processes.ts';
import { waitForMessage } from './fixture-messages.ts';

/**
 * Starts `count` copies of `script` pushing OTLP to the stack's collector as `job` (with `env(i)` on
 * top), waits for each to be ready, stops each with SIGTERM and asserts each exited 0 after its final
 * push, with no periodic export before the signal (the precondition of every short-lived test).
 * @param first index of the first process (for `env` and the process names), for runs in waves.
 */
export async function pushAndStop(script: string, job: string, count: number, env: (i: number) => ProcessEnv, first = 0, readyTimeoutMs = 90_000): Promise<void> {
  const procs = Array.from({ length: count }, (_, k) =>
    startNode(`${job} #${first + k}`, [script], {
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${STACK_PORTS.otlpHttp}`,
      // Far longer than the test: no periodic export runs, only the final push on SIGTERM.
      OTEL_METRIC_EXPORT_INTERVAL: '600000',
      OTEL_SERVICE_NAME: job,
      ...env(first + k),
    }),
  );
  await Promise.all(procs.map((p) => waitForMessage(p, 'ready', readyTimeoutMs)));
  const ended = await Promise.all(
    procs.map(async (p) => {
      const exit = await p.stop('SIGTERM', 20_000);
      const { exportsBeforeSignal } = await waitForMessage<{ exportsBeforeSignal: number | null }>(p, 'exportsBeforeSignal', 1_000);
      return { p, exit, exportsBeforeSignal };
    }),
  );
  for (const { p, exit, exportsBeforeSignal } of ended) {
    expect(exit, p.describe()).toEqual({ code: 0, signal: null });
    expect(exportsBeforeSignal, p.describe()).toBe(0);
    expect(p.stderr(), p.describe()).toMatch(/final push delivered/);
  }
}
