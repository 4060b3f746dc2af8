/**
 * `otel-contracts check [target] --contract <id> [--component <trc component>] [--allow-unobserved] [--json]
 * [--otlp-listen HOST:PORT --duration S] [--timeout S]`: audits a Prometheus text exposition (URL, file or
 * `-`) or the OTLP pushes it receives against the documented contracts, each finding citing its own
 * contract's document. Exit 0 clean, 1 violations, 2 unreadable or unparseable target (with reason and line).
 */
import { createLogger, type Logger } from '../../instrumentation/logger.ts';
import { selectContracts } from '../../semconv/index.ts';
import type { ContractSpec } from '../../semconv/types.ts';
import { createCheck, type CheckResult, type CheckRun } from './check.ts';
import { TargetError } from './exposition/target-error.ts';
import { readCheckedExposition } from './read-exposition.ts';
import { formatJson, formatJsonError, formatTable, type SourceStats } from './format.ts';
import { receiveOtlp } from './otlp/observe.ts';
import { openTarget } from './sources.ts';

/** Options of {@link runCheckCommand}, as the CLI passes them. Durations are in seconds. */
export interface CheckCommandOptions {
  /** `egress`, `ops-proxy`, `trc`, `podtrace`, `masque-vpn` or `all`. */
  readonly contract: string;
  /** With `--contract trc`: `control-plane`, `projections`, `scheduler`, `agent` or `edge`; only its families are required. */
  readonly component?: string;
  /** Let required families that were not observed pass (listed as allowed): drift only, for a short or quiet run. */
  readonly allowUnobserved?: boolean;
  readonly json?: boolean;
  /** `HOST:PORT`: receive OTLP/HTTP pushes there instead of reading a target. */
  readonly otlpListen?: string;
  /** Seconds to receive OTLP pushes (default 10); a numeric string, as commander passes it, is accepted. */
  readonly duration?: number | string;
  /** Seconds allowed to fetch a URL target, connection and body (default 10); a numeric string is accepted. */
  readonly timeout?: number | string;
  /** Allow a non-loopback `--otlp-listen` (default false, or OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true). */
  readonly allowNonLoopback?: boolean;
  /** Exposition size cap in bytes (default 64 MiB). */
  readonly maxBytes?: number;
}

/** Where the command writes and reads; the process's streams by default. */
export interface CheckCommandIo {
  readonly stdout?: { write(s: string): unknown };
  readonly stderr?: { write(s: string): unknown };
  /** Read for the target `-`. */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
  /** pino logger for progress (stderr); default `createLogger('otel-contracts-check')`. */
  readonly logger?: Logger;
}

/** Default `--timeout`, in seconds. */
export const DEFAULT_TIMEOUT_S = 10;
/** Default `--duration`, in seconds. */
export const DEFAULT_DURATION_S = 10;

class UsageError extends Error {}

function positiveSeconds(name: string, v: number | string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = typeof v === 'number' ? v : /^\s*\d*\.?\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw new UsageError(`${name} "${String(v)}": expected a positive number of seconds up to 86400, e.g. ${name} ${def}`);
  return n;
}

/**
 * Runs `otel-contracts check`. Results go to `stdout` (a table, or one JSON document with `--json`);
 * reasons for exit 2 go to `stderr` (and, with `--json`, to stdout as `{ ok: false, error }`).
 * @param target a URL (`http://host:port/metrics`), a file path, or `-` for stdin; omit it with `otlpListen`.
 * @returns the exit code: 0 clean, 1 violations, 2 bad usage or a target that cannot be read or parsed.
 */
export async function runCheckCommand(target: string | undefined, opts: CheckCommandOptions, io: CheckCommandIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const logger = io.logger ?? createLogger('otel-contracts-check');
  const label = target ?? (opts.otlpListen ? `otlp://${opts.otlpListen}` : '');

  const fail = (reason: string, line?: number): number => {
    stderr.write(`otel-contracts check: ${label ? `${label}: ` : ''}${line !== undefined ? `line ${line}: ` : ''}${reason}\n`);
    if (opts.json) stdout.write(formatJsonError(label, reason, line));
    return 2;
  };

  let check: CheckRun;
  let timeoutS: number;
  let durationS: number;
  try {
    const contracts: ContractSpec[] = selectContracts(opts.contract);
    check = createCheck(contracts, { ...(opts.component !== undefined ? { component: opts.component } : {}), allowUnobserved: opts.allowUnobserved ?? false });
    timeoutS = positiveSeconds('--timeout', opts.timeout, DEFAULT_TIMEOUT_S);
    durationS = positiveSeconds('--duration', opts.duration, DEFAULT_DURATION_S);
    if (target !== undefined && opts.otlpListen) throw new UsageError('give either a target (URL, file or -) or --otlp-listen, not both');
    if (target === undefined && !opts.otlpListen) {
      throw new UsageError('nothing to check: give a target (http://host:port/metrics, a file, or - for stdin) or --otlp-listen HOST:PORT --duration S');
    }
  } catch (err) {
    return fail((err as Error).message);
  }

  let source: SourceStats;
  try {
    if (opts.otlpListen) {
      const allow = opts.allowNonLoopback ?? /^(true|1)$/i.test(process.env.OTEL_CONTRACTS_ALLOW_NON_LOOPBACK ?? '');
      const stats = await receiveOtlp({ listen: opts.otlpListen, durationMs: durationS * 1000, allowNonLoopback: allow, logger, resolver: check.resolver }, check.sink);
      source = { kind: 'otlp', name: label, pushes: stats.pushes, metrics: stats.metrics, dataPoints: stats.dataPoints };
    } else {
      const opened = await openTarget(target as string, { timeoutMs: timeoutS * 1000, stdin: () => io.stdin ?? process.stdin });
      logger.debug({ target: opened.name, kind: opened.kind }, 'reading exposition');
      const stats = await readCheckedExposition(opened.chunks, check.sink, {
        isHistogramName: (n) => check.index.isDocumentedHistogram(n),
        describeReadError: (e) => opened.describeReadError(e),
        ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
      });
      source = { kind: opened.kind, name: opened.name, ...stats };
    }
  } catch (err) {
    if (err instanceof TargetError) return fail(err.reason, err.line);
    logger.error({ err }, 'check failed unexpectedly');
    return fail(`unexpected error: ${(err as Error).message}`);
  }

  const result: CheckResult = check.finish();
  stdout.write(opts.json ? formatJson(result, source) : formatTable(result, source));
  return result.ok ? 0 : 1;
}
