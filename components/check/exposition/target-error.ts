/**
 * The target could not be read or parsed: an unreachable or failing URL, a missing file, a malformed,
 * truncated or oversized exposition, an OTLP listen that received nothing. `otel-contracts check`
 * exits 2 with `reason` (and `line`, for expositions).
 */
export class TargetError extends Error {
  /** What was wrong and, where it helps, what to do. */
  readonly reason: string;
  /** 1-based line number of the exposition where reading stopped, when there is one. */
  readonly line: number | undefined;

  constructor(reason: string, line?: number) {
    super(line !== undefined ? `line ${line}: ${reason}` : reason);
    this.name = 'TargetError';
    this.reason = reason;
    this.line = line;
  }
}
