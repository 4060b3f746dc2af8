import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, total } from '../../test/exposition.ts';
import { pollUntil } from '../../test/poll.ts';
import { runNode } from '../../test/processes.ts';
import { MAX_RULES } from './policy.ts';
import { startAuthoritative, type Authoritative } from './testing/authoritative.ts';
import { MAIN, spawnSidecar, type ChildSidecar } from './testing/child.ts';
import { addresses, query, rcodeName, udpExchange, udpQuery } from './testing/dns-client.ts';
import { bigPolicy, FLIP_NAME } from './testing/policies.ts';

// Policies of the most rules allowed, in the sidecar as `npm start` runs it (a child process): applied
// through POST /policy while DNS queries are in flight (each gets an answer; the old policy decides until
// the new one is swapped in whole), and read at start-up from OPENSANDBOX_NETWORK_POLICY_FILE.

const BASE_ENV = { PATH: process.env.PATH, OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000', OPENSANDBOX_EGRESS_INSTANCE_ID: 'apply-test' };
/** Before the big policy: default deny, every `*.example.test` name allowed (the flip name too). */
const SMALL = { default_action: 'deny', egress: [{ action: 'allow', target: '*.example.test' }] };

let up: Authoritative;
let dir: string;

beforeAll(async () => {
  up = await startAuthoritative();
  dir = mkdtempSync(join(tmpdir(), 'egress-apply-'));
});

afterAll(async () => {
  await up?.close();
  rmSync(dir, { recursive: true, force: true });
});

function sidecarArgs(): string[] {
  return ['--dns-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${up.port}`];
}

/** One query of a loop: its name, the loop's sequence number, its answer, and whether it was sent while the POST was outstanding. */
interface Exchange {
  readonly name: string;
  readonly seq: number;
  readonly answer: dnsPacket.DecodedPacket | undefined;
  readonly sentDuringPost: boolean;
  readonly answeredDuringPost: boolean;
}

describe(`egress sidecar: a ${MAX_RULES}-rule policy`, () => {
  it('applies through POST /policy while DNS queries are in flight: every query is answered, by the old policy until the new one is in force', async () => {
    const s: ChildSidecar = await spawnSidecar(sidecarArgs(), { ...BASE_ENV, OPENSANDBOX_NETWORK_POLICY: JSON.stringify(SMALL) });
    try {
      let postState: 'before' | 'outstanding' | 'done' = 'before';
      const exchanges: Exchange[][] = [];
      // Four loops, each one query at a time, alternating a name both policies allow and the flip name;
      // bounded in count (and each query by its timeout).
      const loop = async (n: number): Promise<void> => {
        const mine: Exchange[] = [];
        exchanges.push(mine);
        for (let seq = 0; seq < 20_000 && postState !== 'done'; seq++) {
          const name = seq % 2 ? FLIP_NAME : `steady-${n}-${seq}.example.test`;
          const sentDuringPost = postState === 'outstanding';
          const raw = await udpExchange(s.dnsPort, query(name, seq & 0xffff), 5000);
          mine.push({ name, seq, answer: raw && dnsPacket.decode(raw), sentDuringPost, answeredDuringPost: postState === 'outstanding' });
        }
      };
      const loops = [0, 1, 2, 3].map(loop);
      await pollUntil('DNS answers flowing before the POST', async () => exchanges.flat().length, (n) => n >= 20, { timeoutMs: 10_000, intervalMs: 5 });

      postState = 'outstanding';
      const res = await fetch(`http://127.0.0.1:${s.httpPort}/policy`, { method: 'POST', body: JSON.stringify(bigPolicy()), signal: AbortSignal.timeout(30_000) });
      const body = (await res.json()) as { status: string };
      postState = 'done';
      await Promise.all(loops);
      expect(res.status).toBe(200);
      expect(body.status).toBe('ok');

      const all = exchanges.flat();
      // Every query got an answer, including each one sent while the policy was being applied.
      expect(all.filter((e) => e.answer === undefined)).toEqual([]);
      expect(all.filter((e) => e.sentDuringPost).length).toBeGreaterThan(0);
      expect(all.filter((e) => e.answeredDuringPost).length).toBeGreaterThan(0);
      // Names allowed by both policies: always answered from the upstream.
      for (const e of all.filter((x) => x.name !== FLIP_NAME)) expect(addresses(e.answer as dnsPacket.DecodedPacket), e.name).toEqual(['192.0.2.1']);
      // The flip name: allowed by the old policy, denied by the new; in each loop, once denied it stays
      // denied (the policy is swapped whole, never half-built, never back).
      for (const mine of exchanges) {
        const flips = mine.filter((e) => e.name === FLIP_NAME).map((e) => rcodeName(e.answer as dnsPacket.DecodedPacket));
        const firstDenied = flips.indexOf('NXDOMAIN');
        expect(flips.slice(0, firstDenied < 0 ? flips.length : firstDenied).every((r) => r === 'NOERROR')).toBe(true);
        if (firstDenied >= 0) expect(flips.slice(firstDenied).every((r) => r === 'NXDOMAIN'), flips.join(' ')).toBe(true);
      }
      expect(rcodeName(await udpQuery(s.dnsPort, query(FLIP_NAME)))).toBe('NXDOMAIN');

      // Counted: the rule count under the default action, the update, and every query by its result.
      const m = (await scrape(s.metricsUrl)).samples;
      expect(total(m, 'opensandbox_egress_policy_rule_count', { default_action: 'deny' })).toBe(MAX_RULES);
      expect(total(m, 'opensandbox_egress_policy_rule_count', { default_action: 'allow' })).toBe(0);
      expect(total(m, 'opensandbox_egress_policy_updates_total')).toBe(1);
      const flipDenied = all.filter((e) => e.name === FLIP_NAME && rcodeName(e.answer as dnsPacket.DecodedPacket) === 'NXDOMAIN').length + 1;
      expect(total(m, 'opensandbox_egress_dns_queries_total', { result: 'denied' })).toBe(flipDenied);
      expect(total(m, 'opensandbox_egress_dns_queries_total', { result: 'allowed' })).toBe(all.length + 1 - flipDenied);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  it('is read at start-up from OPENSANDBOX_NETWORK_POLICY_FILE, too large for OPENSANDBOX_NETWORK_POLICY', async () => {
    const path = join(dir, 'policy.json');
    writeFileSync(path, JSON.stringify(bigPolicy(), null, 2));
    const s = await spawnSidecar(sidecarArgs(), { ...BASE_ENV, OPENSANDBOX_NETWORK_POLICY_FILE: path });
    try {
      expect(s.ready.rules).toBe(MAX_RULES);
      const m = (await scrape(s.metricsUrl)).samples;
      expect(total(m, 'opensandbox_egress_policy_rule_count', { default_action: 'deny' })).toBe(MAX_RULES);
      expect(total(m, 'opensandbox_egress_policy_updates_total')).toBe(0);
      const policy = (await (await fetch(`http://127.0.0.1:${s.httpPort}/policy`)).json()) as { mode: string; policy: unknown };
      expect(policy.mode).toBe('enforcing');
      expect(policy.policy).toEqual(bigPolicy());
      expect(rcodeName(await udpQuery(s.dnsPort, query(FLIP_NAME)))).toBe('NXDOMAIN');
      expect(addresses(await udpQuery(s.dnsPort, query('other.example.test')))).toEqual(['192.0.2.1']);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  it('does not start on a missing or malformed policy file, or with both variables set: exit 1 naming the variable and what to do', async () => {
    const run = (env: Record<string, string>) => runNode('egress sidecar with a bad policy file', [MAIN, ...sidecarArgs()], { ...BASE_ENV, ...env }, 15_000);
    const missing = await run({ OPENSANDBOX_NETWORK_POLICY_FILE: join(dir, 'absent.json') });
    expect(missing.code, missing.describe).toBe(1);
    expect(missing.stderr).toContain(`egress sidecar did not start: OPENSANDBOX_NETWORK_POLICY_FILE=${join(dir, 'absent.json')}: cannot read the policy file (ENOENT`);
    expect(missing.stderr).toContain('fix the path or its permissions, or unset OPENSANDBOX_NETWORK_POLICY_FILE');

    const malformedPath = join(dir, 'malformed.json');
    writeFileSync(malformedPath, JSON.stringify(bigPolicy()).slice(0, -10));
    const malformed = await run({ OPENSANDBOX_NETWORK_POLICY_FILE: malformedPath });
    expect(malformed.code, malformed.describe).toBe(1);
    expect(malformed.stderr).toContain(`OPENSANDBOX_NETWORK_POLICY_FILE=${malformedPath}: body: invalid JSON`);
    expect(malformed.stderr).toContain('fix the file or unset OPENSANDBOX_NETWORK_POLICY_FILE');

    const goodPath = join(dir, 'good.json');
    writeFileSync(goodPath, JSON.stringify(SMALL));
    const both = await run({ OPENSANDBOX_NETWORK_POLICY_FILE: goodPath, OPENSANDBOX_NETWORK_POLICY: JSON.stringify(SMALL) });
    expect(both.code, both.describe).toBe(1);
    expect(both.stderr).toContain('OPENSANDBOX_NETWORK_POLICY and OPENSANDBOX_NETWORK_POLICY_FILE are both set; set only one');
  });
});
