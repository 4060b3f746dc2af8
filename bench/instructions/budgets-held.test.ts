import { describe, expect, it } from 'vitest';
import { checkBudgets, loadBudgets } from './budgets.ts';
import { measuredPaths, measurePaths } from './measure.ts';
import { HOT_PATHS } from './paths/index.ts';

// The cost budgets of our hot paths, counted as `npm run bench:instructions` counts them (callgrind on the
// pinned Node, deterministic V8), our rows only: about a minute. Instruction counts repeat exactly run
// after run, so a row over its committed budget plus 3 % is a change in our code's cost, not noise. When
// one fails on purpose (an accepted cost), set the budget with `npm run bench:instructions --
// --write-budgets` and say why in the commit.

describe('instruction budgets (bench/instructions/budgets.json)', () => {
  it('no hot path of ours costs more than 3 % over its committed budget', async () => {
    const budgets = loadBudgets();
    const runs = await measurePaths(HOT_PATHS, { implementations: (impl) => impl.name === 'ours', jobs: 2, node: process.execPath });
    const measured = measuredPaths(HOT_PATHS, runs);
    expect(measured.map((m) => m.id)).toEqual(Object.keys(budgets.paths));
    for (const m of measured) expect(m.figures.map((f) => f.name), m.id).toEqual(['ours']);
    const failures = checkBudgets(measured, budgets).filter((f) => f.severity === 'fail');
    expect(failures.map((f) => `${f.path}: ${f.message}`)).toEqual([]);
  }, 600_000);
});
