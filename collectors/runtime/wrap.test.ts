import dns from 'node:dns';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startDnsCollector } from './dns.ts';
import { fakeRecorders, sumOf } from './testing/fake-recorders.ts';
import { udpPayloadBytes } from './network-bytes.ts';
import { callbackIndex, disguise, patchMethod } from './wrap.ts';

describe('wrapping', () => {
  it('disguise keeps name, length and symbol properties (util.promisify behaviour)', () => {
    const wrapped = disguise(dns.lookup, ((...a: unknown[]) => (dns.lookup as (...x: unknown[]) => unknown)(...a)) as typeof dns.lookup);
    expect(wrapped.name).toBe('lookup');
    expect(wrapped.length).toBe(dns.lookup.length);
    expect(Object.getOwnPropertySymbols(wrapped)).toEqual(Object.getOwnPropertySymbols(dns.lookup));
  });

  it('patchMethod restores the original', () => {
    const target = { f: (x: number) => x + 1 };
    const original = target.f;
    const restore = patchMethod(target, 'f', (orig) => (x: number) => orig(x) * 10);
    expect(target.f(1)).toBe(20);
    restore?.();
    expect(target.f).toBe(original);
    expect(patchMethod(target, 'missing', (o) => o)).toBeUndefined();
  });

  it('callbackIndex finds the last function argument', () => {
    expect(callbackIndex([1, () => 0, 'x', () => 1])).toBe(3);
    expect(callbackIndex([1, 2])).toBe(-1);
  });

  it('udpPayloadBytes covers the send signatures', () => {
    expect(udpPayloadBytes([Buffer.alloc(10), 1234, '127.0.0.1'])).toBe(10);
    expect(udpPayloadBytes([Buffer.alloc(10), 2, 5, 1234, '127.0.0.1'])).toBe(5);
    expect(udpPayloadBytes([['ab', Buffer.alloc(3)], 1234])).toBe(5);
    expect(udpPayloadBytes(['héllo', 1234])).toBe(6);
  });
});

describe('dns collector (in process)', () => {
  it('times lookups once, skips IP literals, keeps util.promisify(dns.lookup) resolving { address, family }', async () => {
    const { rec, calls } = fakeRecorders();
    const c = startDnsCollector(rec, () => 'test');
    try {
      const r = await promisify(dns.lookup)('localhost', { family: 4 });
      expect(r).toMatchObject({ address: '127.0.0.1', family: 4 });
      await dns.promises.lookup('localhost');
      await new Promise((res) => dns.lookup('127.0.0.1', res));
      expect(calls.filter((x) => x.family === 'podtrace_dns_latency_seconds_histogram')).toHaveLength(2);
      expect(sumOf(calls, 'podtrace_dns_latency_seconds_gauge', { type: 'DNS', process_name: 'test' })).toBeGreaterThan(0);
    } finally {
      c.stop();
    }
  });

  it('errors stay as they were: a synchronous throw stays synchronous, a rejection stays a rejection (and is timed)', async () => {
    const { rec, calls } = fakeRecorders();
    const c = startDnsCollector(rec, () => 'test');
    try {
      expect(() => dns.promises.lookup('localhost', { family: 9 as 4 })).toThrow(/family/);
      const r = new dns.promises.Resolver({ timeout: 200, tries: 1 });
      r.setServers(['127.0.0.1:1']); // nothing listens there
      await expect(r.resolve4('nothing.test')).rejects.toThrow();
      expect(calls.filter((x) => x.family === 'podtrace_dns_latency_seconds_histogram')).toHaveLength(1);
    } finally {
      c.stop();
    }
  });
});
