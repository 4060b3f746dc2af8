import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/prng.ts';
import { CHARS_PER_STEP, ELEMENTS_PER_STEP, parseJsonSteps, TooManyElementsError } from './policy-json.ts';
import { runSync } from './policy.ts';

// The stepwise JSON parser of policy bodies: whatever the text, it returns what JSON.parse returns, or
// throws the very error JSON.parse throws; it yields between steps; it refuses too many rules early.

/** JSON.parse's outcome and parseJsonSteps' for `raw`, as comparable values. */
function both(raw: string): { expected: unknown; got: unknown } {
  const outcome = (f: () => unknown) => {
    try {
      return { value: f() };
    } catch (e) {
      return { error: `${(e as Error).name}: ${(e as Error).message}` };
    }
  };
  return { expected: outcome(() => JSON.parse(raw)), got: outcome(() => runSync(parseJsonSteps(raw))) };
}

const crafted: [string, string][] = [
  ['an empty rule list', '{"egress":[]}'],
  ['a rule list of blanks', '{"egress":[ \n\t ]}'],
  ['rules and a default, padded', ' \n{"default_action":"deny","egress":[{"action":"allow","target":"a.b"},{"target":"x","action":"deny"}]}\n '],
  ['brackets and quotes inside strings', '{"egress":[{"a":"]"},{"b":"\\\\\\""},{"c":"},{[,"}]}'],
  ['an escaped key', '{"egr\\u0065ss":[1,2,3]}'],
  ['egress written twice', '{"egress":[1],"egress":[2,3]}'],
  ['egress an array, then a scalar', '{"egress":[1,2],"egress":5}'],
  ['egress an object', '{"egress":{"a":[1,2]}}'],
  ['egress a string that looks like an array', '{"egress":"[1,2]"}'],
  ['the word egress as a value', '{"x":"egress","egress":[4]}'],
  ['nested arrays before, in and after', '{"a":[1,[2,3]],"egress":[[1,2],[3]],"b":{"egress":[9]}}'],
  ['spaces around colons and commas', '{"egress" : [ 1 , 2 ] , "z" : 0}'],
  ['every kind of element', '{"egress":[null,true,false,"s",-1.5e3,{"k":[{}]}]}'],
  ['non-ASCII names', `{"egress":[{"target":"h\u00e9.example.com"},{"target":"\ud83d\ude00"}]}`],
  ['a top-level array', '[1,2]'],
  ['a top-level string', '"egress"'],
  ['a trailing comma in the rules', '{"egress":[1,2,]}'],
  ['a lone comma in the rules', '{"egress":[,]}'],
  ['a missing comma between rules', '{"egress":[1 2]}'],
  ['a rule cut short', '{"egress":[{"a":1}'],
  ['the rules never closed', '{"egress":[1]'],
  ['mismatched brackets', '{"egress":[1}]'],
  ['text after the document', '{"egress":[1,2,3]} x'],
  ['two documents', '{"egress":[1]}{}'],
  ['an unterminated string', '{"egress":["abc]}'],
  ['nothing', ''],
];

describe('policy JSON parsed in steps', () => {
  it.each(crafted)('returns or throws what JSON.parse does: %s', (_what, raw) => {
    const { expected, got } = both(raw);
    expect(got).toEqual(expected);
  });

  it('agrees with JSON.parse on 300 random documents, whole and cut short', () => {
    const seed = 0x5eed;
    const rnd = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const str = () => pick(['a.example.com', '*.b.test', 'x"y', 'back\\slash', ']},[{', '\u00e9\u4e2d', '']);
    const value = (depth: number): unknown => {
      const k = Math.floor(rnd() * (depth > 2 ? 4 : 6));
      if (k === 0) return str();
      if (k === 1) return Math.floor(rnd() * 1e6) / 100;
      if (k === 2) return pick([true, false, null]);
      if (k === 3) return { action: pick(['allow', 'deny']), target: str() };
      if (k === 4) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 3) }, () => [pick(['egress', 'a', 'default_action', 'b"c']), value(depth + 1)]));
    };
    for (let n = 0; n < 300; n++) {
      const doc: Record<string, unknown> = {};
      if (rnd() < 0.7) doc.default_action = pick(['allow', 'deny', 7]);
      doc.egress = Array.from({ length: Math.floor(rnd() * 400) }, () => value(1));
      if (rnd() < 0.3) doc.extra = value(1);
      const raw = JSON.stringify(doc, null, rnd() < 0.5 ? 0 : 2);
      const cut = rnd() < 0.3 ? raw.slice(0, Math.floor(rnd() * raw.length)) : raw;
      const { expected, got } = both(cut);
      expect(got, `seed ${seed}, document ${n}: ${cut.slice(0, 120)}`).toEqual(expected);
    }
  });

  it('yields between steps: a 10 000-rule body takes a step per batch of rules and per stretch of text', () => {
    // Plain names, and names full of what the scan must not take for structure (quotes, brackets, commas, escapes).
    for (const name of [(i: number) => `host-${i}.example.com`, (i: number) => `h"${i}]},[{\\"\u0041`]) {
      const raw = JSON.stringify({ default_action: 'deny', egress: Array.from({ length: 10_000 }, (_, i) => ({ action: 'allow', target: name(i) })) });
      const steps = parseJsonSteps(raw);
      let yields = 0;
      let r = steps.next();
      while (!r.done) {
        yields++;
        r = steps.next();
      }
      // Fewer yields would mean the text was parsed in one piece.
      expect(yields).toBeGreaterThanOrEqual(Math.floor(raw.length / CHARS_PER_STEP) + Math.ceil(10_000 / ELEMENTS_PER_STEP));
      expect(r.value).toEqual(JSON.parse(raw));
    }
  });

  it('refuses more rules than allowed while scanning, before parsing them', () => {
    const raw = (n: number) => JSON.stringify({ egress: Array.from({ length: n }, (_, i) => ({ action: 'allow', target: `h${i}.test` })) });
    expect((runSync(parseJsonSteps(raw(3), 3)) as { egress: unknown[] }).egress).toHaveLength(3);
    expect(() => runSync(parseJsonSteps(raw(4), 3))).toThrow(TooManyElementsError);
    // The rules of a nested `egress` are not the policy's.
    expect(runSync(parseJsonSteps('{"a":{"egress":[1,2,3,4]},"egress":[1]}', 3))).toEqual({ a: { egress: [1, 2, 3, 4] }, egress: [1] });
  });
});
