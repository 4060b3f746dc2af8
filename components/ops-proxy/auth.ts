import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The shared token check: REGISTER and DATA lines must carry `OPS_PROXY_TOKEN`.
 * Both sides are hashed first so the comparison takes the same time whatever the lengths.
 */

/** A constant-time comparison against `expected`. */
export function tokenChecker(expected: string): (given: string) => boolean {
  const want = createHash('sha256').update(expected).digest();
  return (given) => timingSafeEqual(createHash('sha256').update(given).digest(), want);
}
