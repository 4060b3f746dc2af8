import { createRequire } from 'node:module';
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

/** How log lines are written: one JSON object per line (for log shippers), or pino-pretty's readable lines. */
export type LogFormat = 'json' | 'pretty';

/**
 * `OTEL_CONTRACTS_LOG_FORMAT` (`json` or `pretty`); unset: `pretty` when stderr is a terminal, `json`
 * otherwise (a pipe, a file, a container's log). An unknown value gives `json` and names the value in
 * `unknown`, for one warning line.
 */
export function logFormatOf(env: NodeJS.ProcessEnv, stderrIsTerminal: boolean = process.stderr.isTTY === true): { format: LogFormat; unknown?: string } {
  const raw = env.OTEL_CONTRACTS_LOG_FORMAT?.trim().toLowerCase();
  if (!raw) return { format: stderrIsTerminal ? 'pretty' : 'json' };
  return raw === 'json' || raw === 'pretty' ? { format: raw } : { format: 'json', unknown: raw };
}

/** pino-pretty as a synchronous stream on stderr; loaded only when a terminal asks for it. */
function prettyStderr(): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as (opts: object) => DestinationStream;
  return pretty({ destination: 2, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}

/**
 * A pino logger on stderr (or `destination`), so that commands printing results on stdout stay
 * parseable. Level from {@link logLevelOf}; format from {@link logFormatOf} (JSON lines carry ISO 8601
 * `time`); an unknown level or format is warned about once.
 */
export function createLogger(name: string, env: NodeJS.ProcessEnv = process.env, destination?: DestinationStream): Logger {
  const { level, unknown } = logLevelOf(env);
  const format = logFormatOf(env, destination === undefined && process.stderr.isTTY === true);
  const stream = destination ?? (format.format === 'pretty' ? prettyStderr() : pino.destination({ fd: 2, sync: true }));
  const logger = pino({ name, level, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  if (unknown !== undefined) logger.warn({ value: unknown }, 'unknown log level in OTEL_CONTRACTS_LOG_LEVEL / OTEL_LOG_LEVEL; using info');
  if (format.unknown !== undefined) logger.warn({ value: format.unknown }, 'unknown OTEL_CONTRACTS_LOG_FORMAT (json or pretty); using json');
  return logger;
}

export type { Logger };
