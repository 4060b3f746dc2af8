/**
 * Whether an error means "the database cannot be reached right now" (it restarted, is starting, the
 * connection was cut or the pool timed out waiting for one): the request may be retried, the answer is
 * 503, and nothing else is wrong with it.
 */

/** SQLSTATE classes and codes of an unreachable or restarting server: connection exceptions, shutdown, starting up. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3])$/;
const UNAVAILABLE_SYSCALL = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);
/** pg's own messages for a connection it lost or could not get (they carry no code). */
const UNAVAILABLE_MESSAGE = /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Client was closed and is not queryable|Cannot use a pool after calling end/i;

/** True for an error of an unavailable database (see the file's comment). */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  return UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_SYSCALL.has(code) || (typeof e?.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message));
}
