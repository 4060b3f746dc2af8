/** One measured figure of a benchmark row. */
export interface Figure {
  readonly name: string;
  readonly value: number;
}

/**
 * Prints a table of figures side by side, each with its ratio to the row's reference (the first
 * figure unless `ref` names another); lower is better for every figure printed with it.
 */
export function printRows(title: string, unit: string, rows: { case: string; figures: Figure[]; ref?: string }[]): void {
  console.log(`\n## ${title} (${unit}; ratio = figure / reference, lower is better)`);
  for (const row of rows) {
    const ref = row.figures.find((f) => f.name === (row.ref ?? row.figures[0]?.name))?.value ?? Number.NaN;
    const cells = row.figures.map((f) => `${f.name} ${fmt(f.value)} (x${(f.value / ref).toFixed(2)})`);
    console.log(`${row.case.padEnd(34)} ${cells.join('   ')}`);
  }
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3);
}

/** Median of a few repetitions of `fn`, which returns one measurement. */
export function median(runs: number, fn: () => number): number {
  const xs = Array.from({ length: runs }, fn).sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)] as number;
}

/** Median async variant. */
export async function medianAsync(runs: number, fn: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await fn());
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)] as number;
}
