import { readFileSync, writeFileSync } from 'node:fs';
import { meetsTarget, targetValueOf, type Figure, type Row, type Target } from '../support/table.ts';

/**
 * The committed instruction budgets (budgets.json) and their check. Each hot path has the expected count of
 * our row (`ours`, instructions per unit); a run fails when ours grows past it by more than the tolerance
 * (3 %): instruction counts repeat exactly run after run, so this is a check of cost, not a timer. A path may
 * carry the ratio target its issue or wall-clock benchmark gives (`<= otel-sdk`, `<= faster client`); a run
 * fails when it is not met, unless the file records the measured floor that holds it (`floor`: what it is
 * and why ours cannot go under it). Changing a budget is a deliberate commit that says why.
 */

/** The budget of one hot path. */
export interface PathBudget {
  /** Expected instructions per unit of our row. */
  readonly ours: number;
  /** The row's ratio target (see `Target` in bench/support/table.ts), judged on ours. */
  readonly target?: Target;
  /** Set while the target is not met: the measured floor and what holds it there. */
  readonly floor?: string;
}

/** The whole budget file. */
export interface Budgets {
  /** Growth over `ours` allowed before a run fails: 0.03 is 3 %. */
  readonly tolerance: number;
  readonly paths: Readonly<Record<string, PathBudget>>;
}

/** Where the budgets are committed. */
export const BUDGETS_FILE = new URL('./budgets.json', import.meta.url);

/** Reads budgets.json. @throws Error naming the file when it cannot be read or is not a budget file. */
export function loadBudgets(file: URL = BUDGETS_FILE): Budgets {
  const b = JSON.parse(readFileSync(file, 'utf8')) as Budgets;
  if (typeof b.tolerance !== 'number' || typeof b.paths !== 'object' || b.paths === null) throw new Error(`${file.pathname}: expected { "tolerance": number, "paths": { ... } }`);
  return b;
}

/** One finding of {@link checkBudgets}: `fail` makes the run exit non-zero; `note` is printed only. */
export interface BudgetFinding {
  readonly path: string;
  readonly severity: 'fail' | 'note';
  readonly message: string;
}

/** The measured figures of one hot path, as its table row holds them. */
export interface MeasuredPath {
  readonly id: string;
  readonly unit: string;
  readonly figures: readonly Figure[];
  /** The peer the row's ratios are to (default: the faster Prometheus client). */
  readonly ratioTo?: string;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const n = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

/**
 * Checks the measured paths against `budgets`: our figure over its ceiling (budget + tolerance), a path
 * measured without a budget, a target not met without a recorded floor (each a `fail`, saying what and by
 * how much); our figure well under its budget, a target not met with its floor recorded, or met although a
 * floor is still recorded (each a `note`). A ratio target whose peer was not measured is not judged.
 */
export function checkBudgets(measured: readonly MeasuredPath[], budgets: Budgets): BudgetFinding[] {
  const out: BudgetFinding[] = [];
  for (const m of measured) {
    const ours = m.figures.find((f) => f.name === 'ours')?.value;
    const b = budgets.paths[m.id];
    if (ours === undefined) continue;
    if (b === undefined) {
      out.push({ path: m.id, severity: 'fail', message: `no budget: ours measured ${n(ours)} ${m.unit}; add it to budgets.json (--write-budgets) and commit it` });
      continue;
    }
    const ceiling = b.ours * (1 + budgets.tolerance);
    const growth = ours / b.ours - 1;
    if (ours > ceiling) {
      out.push({ path: m.id, severity: 'fail', message: `ours ${n(ours)} ${m.unit} exceeds its ceiling ${n(ceiling)} (budget ${n(b.ours)} + ${pct(budgets.tolerance)}): ${pct(growth)} over the budget, ${n(ours - b.ours)} more per unit` });
    } else if (ours < b.ours * (1 - budgets.tolerance)) {
      out.push({ path: m.id, severity: 'note', message: `ours ${n(ours)} ${m.unit} is ${pct(-growth)} under its budget ${n(b.ours)}: lower the budget (--write-budgets) so that a regression back is caught` });
    }
    const row: Row | undefined = b.target && { case: m.id, figures: m.figures, target: b.target, ...(m.ratioTo ? { ratioTo: m.ratioTo } : {}) };
    const value = row && targetValueOf(row);
    // A ratio target is judged only when its peer was measured too (the budget test runs ours alone).
    if (b.target && row && value !== undefined && Number.isFinite(value)) {
      const met = meetsTarget(row);
      const against = n(value);
      if (met === false && b.floor === undefined) {
        out.push({ path: m.id, severity: 'fail', message: `target not met: ours ${n(ours)} > ${against} (${describe(b.target)}), ${pct(ours / value - 1)} over; record the floor that holds it in budgets.json or bring ours under it` });
      } else if (met === false) {
        out.push({ path: m.id, severity: 'note', message: `target ${describe(b.target)} = ${against} not met (ours ${n(ours)}, ${pct(ours / value - 1)} over): ${b.floor}` });
      } else if (met === true && b.floor !== undefined) {
        out.push({ path: m.id, severity: 'note', message: `target ${describe(b.target)} now met (ours ${n(ours)} <= ${against}): remove its floor note from budgets.json` });
      }
    }
  }
  return out;
}

function describe(t: Target): string {
  return 'value' in t ? `<= ${t.value}` : `<= ${t.factor === 1 ? '' : `${t.factor}x `}${t.of}`;
}

/**
 * The budgets with `ours` of every measured path set to its measured figure (rounded to 0.1), targets and
 * floors kept; paths not measured are kept as they are.
 */
export function withMeasured(budgets: Budgets, measured: readonly MeasuredPath[]): Budgets {
  const paths: Record<string, PathBudget> = { ...budgets.paths };
  for (const m of measured) {
    const ours = m.figures.find((f) => f.name === 'ours')?.value;
    if (ours !== undefined) paths[m.id] = { ...paths[m.id], ours: Math.round(ours * 10) / 10 };
  }
  return { ...budgets, paths };
}

/** Writes `budgets` to budgets.json. */
export function saveBudgets(budgets: Budgets, file: URL = BUDGETS_FILE): void {
  writeFileSync(file, `${JSON.stringify(budgets, null, 2)}\n`);
}
