import { CommanderError } from 'commander';
import { installExitHandlers } from '../../instrumentation/exit.ts';
import type { Logger } from '../../instrumentation/logger.ts';
import type { Pipeline } from '../../instrumentation/pipeline.ts';

/**
 * The one lifecycle of every component (egress sidecar, ops proxy, masque-vpn, podtrace, sample):
 * start-up that undoes itself on failure, a stop that closes listeners before the final push, SIGTERM
 * and SIGINT with a bounded final push, and the command-line wrapper that turns a failed start into
 * one line and exit 1.
 */

/** The undo steps of a component's start-up (see {@link createCleanups}). */
export interface Cleanups {
  /** Registers how to close a resource that was just opened. */
  add(step: () => Promise<void> | void): void;
  /** Runs the steps registered so far, last first; a step that fails is logged and the others still run. Never rejects. */
  run(): Promise<void>;
}

/**
 * The start-up of a component opens ports, sockets and devices one after another; each registers its
 * close here, so that a failure half-way (and the stop at SIGTERM) closes what was opened, in reverse order.
 */
export function createCleanups(logger: Logger): Cleanups {
  const steps: (() => Promise<void> | void)[] = [];
  return {
    add: (step) => void steps.push(step),
    async run() {
      for (const step of steps.splice(0).reverse()) {
        try {
          await step();
        } catch (e) {
          logger.warn({ err: e }, 'cleanup step failed');
        }
      }
    },
  };
}

/** How a running component stops: its listeners alone, or everything with the final push. Both idempotent. */
export interface ComponentStop {
  /** Runs the component's cleanups (close sockets, servers, devices) once; later calls share the first. */
  closeListeners(): Promise<void>;
  /** {@link closeListeners}, then the pipeline's bounded final push and shutdown, once. */
  close(): Promise<void>;
}

/**
 * Runs a component's start-up: `start` opens what the component needs, registering each close in
 * `cleanups`. If it throws, what was opened is closed, the pipeline shut down (within 1 s) and the error
 * rethrown, so nothing stays open. Otherwise the result gains {@link ComponentStop}: listeners close first
 * so nothing new is recorded, then the final push. With `exitHandlers` (the CLI; in-process tests leave it
 * off), SIGTERM, SIGINT and a normal exit run that stop (see `installExitHandlers`).
 * @throws whatever `start` throws.
 */
export async function startComponent<T extends object>(
  pipeline: Pipeline,
  logger: Logger,
  exitHandlers: boolean | undefined,
  start: (cleanups: Cleanups) => Promise<T>,
): Promise<T & ComponentStop> {
  const cleanups = createCleanups(logger);
  let result: T;
  try {
    result = await start(cleanups);
  } catch (e) {
    await cleanups.run();
    await pipeline.shutdown(1000).catch(() => undefined);
    throw e;
  }
  let closingListeners: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const closeListeners = () => (closingListeners ??= cleanups.run());
  if (exitHandlers) installExitHandlers(pipeline, logger, { beforeShutdown: closeListeners });
  return {
    ...result,
    closeListeners,
    close: () =>
      (closing ??= (async () => {
        await closeListeners();
        await pipeline.shutdown();
      })()),
  };
}

/**
 * For a program without a pipeline (the masque-vpn client): SIGTERM and SIGINT run `close` once, then
 * exit 0; a second signal exits at once (130 for SIGINT, 143 for SIGTERM).
 */
export function exitOnSignal(close: () => Promise<void>): void {
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) process.exit(sig === 'SIGINT' ? 130 : 143);
    signalled = true;
    void close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * Runs a component's start-up from its command line (`npm start`, `node components/<x>/main.ts`,
 * `otel-contracts masque-vpn`): `--help` and flag errors exit with commander's code; any other failure to
 * start prints the one plain line a user reads, `<what> did not start: <reason>`, and exits 1.
 */
export async function runComponent(what: string, start: () => Promise<unknown>): Promise<void> {
  try {
    await start();
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    process.stderr.write(`${what} did not start: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
