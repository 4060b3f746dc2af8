import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The shared token check (issue 10, "Auth": `OPS_PROXY_TOKEN` is required for REGISTER and DATA).
 * Both sides are hashed first so the comparison takes the same time whatever the lengths.
 */

/** A constant-time comparison against `expected`. */
export function tokenChecker(expected: string): (given: string) => boolean {
  const want = createHash('sha256').update(expected).digest();
  return (given) => timingSafeEqual(createHash('sha256').update(given).digest(), want);
}
