import type { Logger } from 'pino';

/**
 * One warning line per problem, not one per scrape: a mount that cannot be read, a cache directory that
 * disappeared, a WireGuard interface that is gone or the `wg` tool missing is logged when it starts
 * failing, and once more (at info) when it works again. In between the agent stays quiet and the
 * affected series keep their last value (or, never having had one, stay absent).
 */

/** The problems of the agent's sources, keyed by a subject such as `mount /var/lib/trc` or `cache oci`. */
export interface ProblemLog {
  /**
   * `subject` fails: logs `message` at warn (with `fields`) unless it is already failing.
   * @returns true when this call logged (the problem is new).
   */
  fail(subject: string, message: string, fields?: Readonly<Record<string, unknown>>): boolean;
  /** `subject` works: logs `<subject> works again` at info when it was failing; otherwise nothing. */
  ok(subject: string): void;
  /** Whether `subject` is failing now. */
  failing(subject: string): boolean;
}

/** A {@link ProblemLog} writing to `logger`. */
export function createProblemLog(logger: Pick<Logger, 'warn' | 'info'>): ProblemLog {
  const failing = new Set<string>();
  return {
    fail(subject, message, fields = {}) {
      if (failing.has(subject)) return false;
      failing.add(subject);
      logger.warn({ subject, ...fields }, message);
      return true;
    },
    ok(subject) {
      if (failing.delete(subject)) logger.info({ subject }, `${subject} works again`);
    },
    failing: (subject) => failing.has(subject),
  };
}
