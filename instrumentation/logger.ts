import { pino, type Logger } from 'pino';

/**
 * The project's pino logger, on stderr so that commands printing results on stdout stay parseable.
 * Level from `OTEL_CONTRACTS_LOG_LEVEL` (or `OTEL_LOG_LEVEL`), default `info`.
 */
export function createLogger(name: string, env: NodeJS.ProcessEnv = process.env): Logger {
  const level = (env.OTEL_CONTRACTS_LOG_LEVEL ?? env.OTEL_LOG_LEVEL ?? 'info').toLowerCase();
  return pino({ name, level: level === 'none' ? 'silent' : level }, pino.destination({ fd: 2, sync: true }));
}

export type { Logger };
