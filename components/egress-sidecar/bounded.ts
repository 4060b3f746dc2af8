/**
 * Waits for `p`, but not longer than `ms` milliseconds; `p` keeps running after the bound. Resolves when
 * either happens first; rejects only if `p` rejects within the bound.
 */
export function bounded(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}
