import type { Logger } from 'pino';
import { createLogger } from '../instrumentation/logger.ts';
import { untraced } from '../collectors/runtime/untraced.ts';

/** Writes to stderr through the `fs.writeSync` captured before the FS collector wraps it, so our log lines are not counted as the app's file writes. */
const stderr = {
  write(line: string): void {
    const buf = Buffer.from(line);
    let off = 0;
    for (let tries = 0; off < buf.length && tries < 1000; tries++) {
      try {
        off += untraced.writeSync(2, buf, off, buf.length - off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return; // stderr gone: drop the line, never throw into the app
      }
    }
  },
};

/**
 * The preload's pino logger: the project's `createLogger` (same level variables, OTel levels understood,
 * an unknown level falls back to info) named `otel-contracts`, writing through the untraced stderr.
 */
export function createPreloadLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  return createLogger('otel-contracts', env, stderr);
}
