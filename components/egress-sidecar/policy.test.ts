import { describe, expect, it } from 'vitest';
import { ALLOW_ALL, CompiledPolicy, initialPolicy, parsePolicy, PolicyError, validatePolicy } from './policy.ts';

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
