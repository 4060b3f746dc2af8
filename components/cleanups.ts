import type { Logger } from '../instrumentation/logger.ts';

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
