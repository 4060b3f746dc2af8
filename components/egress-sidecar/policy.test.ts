import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/prng.ts';
import { SidecarConfigError } from './config.ts';
import {
  ActivePolicy,
  ALLOW_ALL,
  CompiledPolicy,
  compilePolicy,
  initialPolicy,
  MAX_POLICY_FILE_BYTES,
  MAX_RULES,
  normalizeName,
  parsePolicy,
  parsePolicySliced,
  PolicyError,
  validatePolicy,
  type EgressRule,
  type NetworkPolicy,
} from './policy.ts';

describe('policy: matching', () => {
  const p = new CompiledPolicy(
    validatePolicy({
      default_action: 'deny',
      egress: [
        { action: 'deny', target: 'secret.example.com' },
        { action: 'allow', target: '*.example.com' },
        { action: 'allow', target: 'API.Other.Test.' },
        { action: 'deny', target: '*.other.test' },
      ],
    }),
  );
  const allowed = (name: string) => p.evaluate(name).allowed;

  it('matches exact names case-insensitively, trailing dot or not', () => {
    expect(allowed('api.other.test')).toBe(true);
    expect(p.evaluate('api.other.test').rule).toBe('egress[2] allow API.Other.Test.');
  });

  it('lets the first matching rule win, exact or wildcard', () => {
    expect(allowed('secret.example.com')).toBe(false); // rule 0 before the wildcard of rule 1
    expect(allowed('x.other.test')).toBe(false); // rule 3
    expect(allowed('api.other.test')).toBe(true); // rule 2 comes before rule 3
  });

  it('matches wildcards on subdomains at any depth, never the apex', () => {
    expect(allowed('a.example.com')).toBe(true);
    expect(allowed('a.b.c.example.com')).toBe(true);
    expect(allowed('example.com')).toBe(false);
    expect(allowed('badexample.com')).toBe(false);
    expect(p.evaluate('example.com').rule).toBe('default_action deny');
  });

  it('lets pinned names through whatever the rules say', () => {
    const pinned = new CompiledPolicy(validatePolicy({ default_action: 'deny', egress: [{ action: 'deny', target: 'otel.example.com' }] }), [{ name: 'OTEL.example.com', why: 'OTLP endpoint' }]);
    expect(pinned.evaluate('otel.example.com')).toEqual({ allowed: true, rule: 'always-allowed OTLP endpoint' });
  });

  it('defaults: no policy allows all, an omitted default_action denies', () => {
    expect(initialPolicy({})).toBe(ALLOW_ALL);
    expect(new CompiledPolicy(ALLOW_ALL).evaluate('anything.test').allowed).toBe(true);
    expect(parsePolicy('{"egress": []}')).toEqual({ default_action: 'deny', egress: [] });
    expect(parsePolicy('  ')).toBe(ALLOW_ALL);
  });

  it('names the variable and the field when OPENSANDBOX_NETWORK_POLICY is bad', () => {
    expect(() => initialPolicy({ OPENSANDBOX_NETWORK_POLICY: '{"egress":[{"action":"allow","target":"a b"}]}' })).toThrow(/OPENSANDBOX_NETWORK_POLICY: .*egress\[0\]\.target/);
    const err = (() => {
      try {
        initialPolicy({ OPENSANDBOX_NETWORK_POLICY: '{"default_action":"maybe"}' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).field).toBe('default_action');
  });

  it('refuses a 254-character domain even when each label is valid', () => {
    const long = Array.from({ length: 4 }, () => 'a'.repeat(63)).join('.');
    expect(long.length).toBe(255);
    expect(() => validatePolicy({ egress: [{ action: 'allow', target: long }] })).toThrow(PolicyError);
  });
});

/** A policy of `n` rules: exact and wildcard names, allow and deny, with some targets repeated. */
function bigPolicy(n: number, seed = 7): NetworkPolicy {
  const rnd = seededRandom(seed);
  const egress: EgressRule[] = Array.from({ length: n }, (_, i) => {
    const zone = `z${Math.floor(rnd() * 50)}.test`;
    const wild = rnd() < 0.5;
    const host = Math.floor(rnd() * (n / 2));
    return { action: rnd() < 0.5 ? 'allow' : 'deny', target: wild ? `*.s${host % 300}.${zone}` : `H${host}.${zone}${rnd() < 0.1 ? '.' : ''}` };
  });
  return { default_action: 'deny', egress };
}

/** The matcher of the upstream document, written the slow way: the first rule that matches, else the default. */
function firstMatch(p: NetworkPolicy, name: string): { allowed: boolean; rule: string } {
  for (const [i, r] of p.egress.entries()) {
    const t = normalizeName(r.target);
    if (t.startsWith('*.') ? name.endsWith(t.slice(1)) : name === t) return { allowed: r.action === 'allow', rule: `egress[${i}] ${r.action} ${r.target}` };
  }
  return { allowed: p.default_action === 'allow', rule: `default_action ${p.default_action}` };
}

describe(`policy: ${MAX_RULES} rules`, () => {
  const p = bigPolicy(MAX_RULES);
  const raw = JSON.stringify(p);

  it('decides like a first-match scan of the rules, for names hitting exact, wildcard and no rules', async () => {
    const sync = new CompiledPolicy(p);
    const sliced = await compilePolicy(p);
    const rnd = seededRandom(11);
    const decidedBy = { exact: 0, wildcard: 0, default: 0 };
    for (let n = 0; n < 3000; n++) {
      // A rule's own name, a subdomain of a rule's wildcard (or its apex), or a name no rule covers.
      const target = normalizeName((p.egress[Math.floor(rnd() * p.egress.length)] as EgressRule).target);
      const k = rnd();
      const name = k < 0.33 ? target.replace(/^\*\./, rnd() < 0.5 ? 'a.' : 'a.b.') : k < 0.66 ? target.replace(/^\*\./, '') : `h${n}.z${Math.floor(rnd() * 60)}.test`;
      const want = firstMatch(p, name);
      expect(sync.evaluate(name), name).toEqual(want);
      expect(sliced.evaluate(name), name).toEqual(want);
      decidedBy[want.rule.startsWith('default') ? 'default' : want.rule.includes(' *.') ? 'wildcard' : 'exact']++;
    }
    // Each kind of decision was exercised, not just the default.
    expect(Math.min(decidedBy.exact, decidedBy.wildcard, decidedBy.default), JSON.stringify(decidedBy)).toBeGreaterThan(100);
  });

  it('decides a name asked again as the first time, from its memo, also after more distinct names than the memo holds', () => {
    const compiled = new CompiledPolicy(p);
    const rnd = seededRandom(7);
    const names = Array.from({ length: 6000 }, (_, n) => {
      const target = normalizeName((p.egress[Math.floor(rnd() * p.egress.length)] as EgressRule).target);
      return n % 3 === 0 ? target.replace(/^\*\./, 'a.') : n % 3 === 1 ? target.replace(/^\*\./, '') : `h${n}.z${n % 60}.test`;
    });
    // Twice over 6000 names, beyond the memo's 4096: hits, misses after it empties, and the same answers throughout.
    for (let round = 0; round < 2; round++) for (const name of names) expect(compiled.evaluate(name), name).toEqual(firstMatch(p, name));
    // The same string and an equal one built anew decide alike.
    const name = names[0] as string;
    expect(compiled.evaluate(name)).toBe(compiled.evaluate(name.split('').join('')));
  });

  it('parses in slices that yield to the event loop, to the same policy as in one go', async () => {
    let turns = 0;
    let running = true;
    const turn = () => {
      turns++;
      if (running) setImmediate(turn);
    };
    setImmediate(turn);
    // A budget of 0 ms: every step yields, so the count of turns does not depend on the machine's speed.
    const parsed = await parsePolicySliced(raw, 0);
    const compiled = await compilePolicy(parsed, [], 0);
    running = false;
    expect(parsed).toEqual(parsePolicy(raw));
    expect(parsed.egress).toHaveLength(MAX_RULES);
    expect(compiled.evaluate('h1.z1.test')).toEqual(firstMatch(p, 'h1.z1.test'));
    expect(turns).toBeGreaterThanOrEqual(MAX_RULES / 64);
  });

  it('names the last rule when it alone is bad, and refuses one rule too many before validating any', async () => {
    const bad = JSON.stringify({ ...p, egress: [...p.egress.slice(0, -1), { action: 'allow', target: 'not a name' }] });
    await expect(parsePolicySliced(bad)).rejects.toMatchObject({ name: 'PolicyError', field: `egress[${MAX_RULES - 1}].target` });
    const tooMany = JSON.stringify({ ...p, egress: [...p.egress, { action: 'allow', target: 'one.more.test' }] });
    await expect(parsePolicySliced(tooMany)).rejects.toMatchObject({ field: 'egress', message: `invalid policy: egress: more than ${MAX_RULES} rules` });
    expect(() => parsePolicy(tooMany)).toThrow(`more than ${MAX_RULES} rules`);
    expect(() => validatePolicy(JSON.parse(tooMany))).toThrow(`more than ${MAX_RULES} rules`);
  });

  it('keeps the old policy in force while the new one compiles, then swaps it in whole', async () => {
    const active = new ActivePolicy({ default_action: 'allow', egress: [] });
    const seen: number[] = [];
    active.onChange((next) => seen.push(next.egress.length));
    const pending = active.compile(p, 0);
    expect(active.current.policy.egress).toHaveLength(0);
    expect(active.current.evaluate('h1.z1.test').allowed).toBe(true);
    const next = await pending;
    expect(active.current.policy.egress).toHaveLength(0); // compiled aside: nothing in force yet
    active.replace(next);
    expect(active.current.policy.egress).toHaveLength(MAX_RULES);
    expect(active.current.evaluate('h1.z1.test')).toEqual(firstMatch(p, 'h1.z1.test'));
    expect(seen).toEqual([MAX_RULES]);
  });
});

describe('policy: OPENSANDBOX_NETWORK_POLICY_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'egress-policy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const errorOf = (env: NodeJS.ProcessEnv): Error => {
    try {
      initialPolicy(env);
    } catch (e) {
      return e as Error;
    }
    throw new Error('initialPolicy did not throw');
  };

  it(`reads a ${MAX_RULES}-rule policy from the file`, () => {
    const p = bigPolicy(MAX_RULES);
    const got = initialPolicy({ OPENSANDBOX_NETWORK_POLICY_FILE: file('big.json', JSON.stringify(p, null, 2)) });
    expect(got).toEqual(p);
  });

  it('refuses a missing file, a directory, an empty file and one over the size limit, naming the variable and what to do', () => {
    const missing = errorOf({ OPENSANDBOX_NETWORK_POLICY_FILE: join(dir, 'nope.json') });
    expect(missing).toBeInstanceOf(SidecarConfigError);
    expect(missing.message).toMatch(/^OPENSANDBOX_NETWORK_POLICY_FILE=.*nope\.json: cannot read the policy file \(ENOENT.*fix the path/);
    expect(errorOf({ OPENSANDBOX_NETWORK_POLICY_FILE: dir }).message).toContain('not a regular file');
    expect(errorOf({ OPENSANDBOX_NETWORK_POLICY_FILE: file('empty.json', '  \n') }).message).toContain('the file is empty');
    const huge = file('huge.json', '');
    truncateSync(huge, MAX_POLICY_FILE_BYTES + 1);
    expect(errorOf({ OPENSANDBOX_NETWORK_POLICY_FILE: huge }).message).toContain(`more than ${MAX_POLICY_FILE_BYTES}`);
  });

  it('refuses malformed JSON and an invalid policy, naming the variable, the file and the field', () => {
    const malformed = errorOf({ OPENSANDBOX_NETWORK_POLICY_FILE: file('bad.json', '{"egress": [') });
    expect(malformed).toBeInstanceOf(PolicyError);
    expect(malformed.message).toMatch(/^OPENSANDBOX_NETWORK_POLICY_FILE=.*bad\.json: body: invalid JSON/);
    const invalid = errorOf({ OPENSANDBOX_NETWORK_POLICY_FILE: file('invalid.json', '{"egress": [{"action": "allow", "target": "a b"}]}') });
    expect((invalid as PolicyError).field).toBe('egress[0].target');
    expect(invalid.message).toContain('fix the file or unset OPENSANDBOX_NETWORK_POLICY_FILE');
  });

  it('refuses both variables at once; a blank one counts as unset', () => {
    const path = file('one.json', '{"default_action": "allow"}');
    const both = errorOf({ OPENSANDBOX_NETWORK_POLICY_FILE: path, OPENSANDBOX_NETWORK_POLICY: '{"default_action": "deny"}' });
    expect(both).toBeInstanceOf(SidecarConfigError);
    expect(both.message).toContain('OPENSANDBOX_NETWORK_POLICY and OPENSANDBOX_NETWORK_POLICY_FILE are both set');
    expect(initialPolicy({ OPENSANDBOX_NETWORK_POLICY_FILE: path, OPENSANDBOX_NETWORK_POLICY: ' ' })).toEqual({ default_action: 'allow', egress: [] });
  });
});
