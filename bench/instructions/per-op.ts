/**
 * From counted segments to a figure per operation: each counted segment's instructions minus those of the
 * baseline segment (the same harness running 0 operations: the marker calls and the loop around no
 * operation), divided by its operation count and the units one operation is. The counts show whether the
 * instructions grew linearly with the operations. They do, to a few instructions, once the warm-up has
 * left V8 nothing to compile; what V8 still does on its own schedule (a lazy sweep of a heap page, a late
 * baseline compile of a rarely run function) lands once, in one segment, and only adds to it. So the figure
 * is the lowest per operation of the counts, and the spread says how far the others were from it.
 */

/** One counted segment of a child run: its operation count, instructions and heap bytes allocated in it. */
export interface Segment {
  readonly operations: number;
  readonly instructions: number;
  readonly heapBytes: number;
}

/** The figures of one implementation on one hot path. */
export interface PerOperation {
  /** Instructions per unit: the lowest of `byCount`. */
  readonly instructions: number;
  /** Instructions per unit at each operation count, in the order run. */
  readonly byCount: readonly { readonly operations: number; readonly instructions: number }[];
  /** (largest - smallest) of `byCount` over `instructions`: 0 for a perfectly linear count. */
  readonly spread: number;
  /** Heap bytes allocated per unit in the segment the figure comes from (no collection ran inside a segment). */
  readonly heapBytes: number;
  /** Instructions of the baseline segment (0 operations). */
  readonly baseline: number;
}

/**
 * @param segments the baseline segment (0 operations) first, then the counted ones.
 * @param unitsPerOperation what one operation counts for (see `HotPath.unitsPerOperation`).
 * @throws Error when the first segment is not a baseline, a counted segment has no operations, or a
 *   segment counted fewer instructions than the baseline (the segments are then not what the protocol says).
 */
export function perOperation(segments: readonly Segment[], unitsPerOperation = 1): PerOperation {
  const [base, ...counted] = segments;
  if (base === undefined || base.operations !== 0) throw new Error('the first segment must be the baseline: 0 operations');
  if (counted.length === 0) throw new Error('no counted segment after the baseline');
  const byCount = counted.map((s) => {
    if (s.operations <= 0) throw new Error(`a counted segment of ${s.operations} operations`);
    if (s.instructions < base.instructions) throw new Error(`a segment of ${s.operations} operations counted ${s.instructions} instructions, under the baseline's ${base.instructions}`);
    return { operations: s.operations, instructions: (s.instructions - base.instructions) / s.operations / unitsPerOperation };
  });
  const values = byCount.map((c) => c.instructions);
  const lowest = Math.min(...values);
  const at = counted[values.indexOf(lowest)] as Segment;
  return {
    instructions: lowest,
    byCount,
    spread: lowest === 0 ? 0 : (Math.max(...values) - lowest) / lowest,
    heapBytes: (at.heapBytes - base.heapBytes) / at.operations / unitsPerOperation,
    baseline: base.instructions,
  };
}
