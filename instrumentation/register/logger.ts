import { pino, type Logger } from 'pino';
import { untraced } from '../../collectors/runtime/untraced.ts';

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
 * The preload's pino logger, on stderr like the project's `createLogger`, with the same level variables
 * (`OTEL_CONTRACTS_LOG_LEVEL`, `OTEL_LOG_LEVEL`, default `info`, `none` = silent). Name `otel-contracts`.
 */
export function createPreloadLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  const level = (env.OTEL_CONTRACTS_LOG_LEVEL ?? env.OTEL_LOG_LEVEL ?? 'info').toLowerCase();
  return pino({ name: 'otel-contracts', level: level === 'none' ? 'silent' : level }, stderr);
}
