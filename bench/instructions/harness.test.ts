import { describe, expect, it } from 'vitest';
import { checkBudgets, withMeasured, type Budgets, type MeasuredPath } from './budgets.ts';
import { parseDump, segmentInstructions } from './callgrind.ts';
import { perOperation } from './per-op.ts';

// The instruction benchmark's harness on tiny inputs: no callgrind run, no timing.

describe('perOperation', () => {
  it('subtracts the baseline segment, divides by the operations (and the units per operation), and keeps the lowest', () => {
    const segments = [
      { operations: 0, instructions: 1_000, heapBytes: 64 },
      { operations: 100, instructions: 1_000 + 100 * 50, heapBytes: 64 + 100 * 32 },
      { operations: 400, instructions: 1_000 + 400 * 50 + 40, heapBytes: 64 + 400 * 32 },
    ];
    const r = perOperation(segments);
    expect(r.instructions).toBe(50);
    expect(r.byCount).toEqual([
      { operations: 100, instructions: 50 },
      { operations: 400, instructions: 50.1 },
    ]);
    expect(r.spread).toBeCloseTo(0.1 / 50, 10);
    expect(r.heapBytes).toBe(32);
    expect(r.baseline).toBe(1_000);
    expect(perOperation(segments, 10).instructions).toBe(5);
  });

  it('refuses segments that do not follow the protocol', () => {
    expect(() => perOperation([{ operations: 10, instructions: 5, heapBytes: 0 }])).toThrow(/baseline/);
    expect(() => perOperation([{ operations: 0, instructions: 5, heapBytes: 0 }])).toThrow(/no counted segment/);
    expect(() => perOperation([{ operations: 0, instructions: 500, heapBytes: 0 }, { operations: 10, instructions: 400, heapBytes: 0 }])).toThrow(/under the baseline/);
  });
});

describe('callgrind dumps', () => {
  const dump = (part: number, total: number) => `# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npid: 42\ncmd:  node child.mjs\npart: ${part}\n\nevents: Ir\nfn=(1) main\n0 7\n\ntotals: ${total}\n`;

  it('reads the part and the instruction total of a dump', () => {
    expect(parseDump(dump(3, 123_456))).toEqual({ part: 3, instructions: 123_456 });
    expect(() => parseDump('events: Ir\n')).toThrow(/not a callgrind dump/);
  });

  it('takes the counted segments from parts 2, 4, 6, ... (set-up and collections in between)', () => {
    const parts = [1, 2, 3, 4, 5, 6, 7].map((p) => parseDump(dump(p, p * 100)));
    expect(segmentInstructions(parts, 3)).toEqual([200, 400, 600]);
    expect(() => segmentInstructions(parts.slice(0, 3), 3)).toThrow(/no dump part 4/);
  });
});

describe('checkBudgets', () => {
  const budgets: Budgets = {
    tolerance: 0.03,
    paths: {
      add: { ours: 100 },
      record: { ours: 1_000, target: { of: 'otel-sdk', factor: 1 } },
      known: { ours: 1_000, target: { of: 'otel-sdk', factor: 1 }, floor: 'the SDK hashes the attribute set per record' },
    },
  };
  const path = (id: string, ours: number, sdk = 2_000): MeasuredPath => ({ id, unit: 'instructions per call', figures: [{ name: 'otel-sdk', value: sdk }, { name: 'ours', value: ours }] });

  it('passes our figure up to its budget plus the tolerance', () => {
    expect(checkBudgets([path('add', 103), path('record', 1_000)], budgets)).toEqual([]);
  });

  it('fails a figure over its ceiling, saying by how much', () => {
    const [f] = checkBudgets([path('add', 110)], budgets);
    expect(f?.severity).toBe('fail');
    expect(f?.message).toContain('exceeds its ceiling 103 (budget 100 + 3.0 %)');
    expect(f?.message).toContain('10.0 % over the budget');
  });

  it('fails a path without a budget, and notes one far under its budget', () => {
    expect(checkBudgets([path('new', 5)], budgets)[0]).toMatchObject({ path: 'new', severity: 'fail' });
    expect(checkBudgets([path('add', 80)], budgets)[0]).toMatchObject({ severity: 'note', message: expect.stringContaining('20.0 % under') });
  });

  it('fails a missed target unless its floor is recorded, and notes a floor no longer needed', () => {
    expect(checkBudgets([path('record', 1_000, 900)], budgets)[0]).toMatchObject({ severity: 'fail', message: expect.stringContaining('target not met') });
    expect(checkBudgets([path('known', 1_000, 900)], budgets)[0]).toMatchObject({ severity: 'note', message: expect.stringContaining('hashes the attribute set') });
    expect(checkBudgets([path('known', 1_000, 2_000)], budgets)[0]).toMatchObject({ severity: 'note', message: expect.stringContaining('remove its floor note') });
  });

  it('judges a ratio target only when its peer was measured (ours alone, as in the budget test)', () => {
    const alone: MeasuredPath = { id: 'record', unit: 'instructions per call', figures: [{ name: 'ours', value: 1_010 }] };
    expect(checkBudgets([alone], budgets)).toEqual([]);
    expect(checkBudgets([{ ...alone, figures: [{ name: 'ours', value: 1_100 }] }], budgets)[0]).toMatchObject({ severity: 'fail', message: expect.stringContaining('exceeds its ceiling') });
  });

  it('writes measured figures into the budgets, keeping targets and floors', () => {
    const next = withMeasured(budgets, [path('known', 987.654), path('new', 5)]);
    expect(next.paths.known).toEqual({ ours: 987.7, target: { of: 'otel-sdk', factor: 1 }, floor: 'the SDK hashes the attribute set per record' });
    expect(next.paths.new).toEqual({ ours: 5 });
    expect(next.paths.add).toEqual({ ours: 100 });
  });
});
