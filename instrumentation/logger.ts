import { pino, type DestinationStream, type Logger } from 'pino';

const PINO_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
/** OTel's `OTEL_LOG_LEVEL` values that pino does not know by name. */
const OTEL_TO_PINO: Readonly<Record<string, string>> = { none: 'silent', verbose: 'trace', all: 'trace' };

/**
 * The pino level from `OTEL_CONTRACTS_LOG_LEVEL`, else `OTEL_LOG_LEVEL` (OTel's NONE, ERROR, WARN, INFO,
 * DEBUG, VERBOSE, ALL, or a pino level), default `info`. An unknown value gives `info` and names the
 * value in `unknown`, for one warning line: a bad level must never stop a component or a preload.
 */
export function logLevelOf(env: NodeJS.ProcessEnv): { level: string; unknown?: string } {
  const raw = (env.OTEL_CONTRACTS_LOG_LEVEL ?? env.OTEL_LOG_LEVEL ?? 'info').trim().toLowerCase();
  const level = OTEL_TO_PINO[raw] ?? raw;
  return PINO_LEVELS.has(level) ? { level } : { level: 'info', unknown: raw };
}

/**
 * A pino logger on stderr (or `destination`), so that commands printing results on stdout stay
 * parseable. Level from {@link logLevelOf}; an unknown level is warned about once.
 */
export function createLogger(name: string, env: NodeJS.ProcessEnv = process.env, destination?: DestinationStream): Logger {
  const { level, unknown } = logLevelOf(env);
  const logger = pino({ name, level }, destination ?? pino.destination({ fd: 2, sync: true }));
  if (unknown !== undefined) logger.warn({ value: unknown }, 'unknown log level in OTEL_CONTRACTS_LOG_LEVEL / OTEL_LOG_LEVEL; using info');
  return logger;
}

export type { Logger };
