import { afterEach, describe, expect, it, vi } from 'vitest';
import { find, readExposition } from '../../test/exposition.ts';
import { pollUntil } from '../../test/poll.ts';
import { egress } from '../../semconv/generated/egress.ts';
import { runEgressSidecar, type EgressSidecar } from './main.ts';
import { MAX_PENDING_ADDITIONS, NftManager, type NftRun, type NftRunner } from './nft.ts';
import { MAX_PENDING_UPDATES } from './policy-server.ts';
import { startAuthoritative, type Authoritative } from './testing/authoritative.ts';
import { addresses, query, udpQuery } from './testing/dns-client.ts';
import { captureLogger, type LogLine } from './testing/harness.ts';

// dns+nft mode in-process against a fake `nft` whose runs the test holds and releases: policy updates
// that race each other over real HTTP (one at a time, in order, at most a few under way), the first
// scrape in dns+nft mode, an allow-set update that hangs while DNS must keep answering, and the cap on
// addresses waiting for nft.

/** A fake `nft`: it keeps the default verdict in force and lets the test hold each kind of run. */
class FakeNft {
  /** The default verdict in the table, as the last committed transaction left it. */
  verdict: 'allow' | 'deny' | undefined;
  /** The verdict of every `setDefaultAction` run, in call order. */
  readonly verdicts: ('allow' | 'deny')[] = [];
  verdictCalls = 0;
  /** `setDefaultAction` runs commit, then do not exit until {@link release}. */
  holdVerdicts = false;
  /** `add element` runs hang until {@link release}. */
  holdAdds = false;
  readonly scripts: string[] = [];
  private readonly held: (() => void)[] = [];
  private readonly callWaiters: (() => void)[] = [];

  readonly run: NftRunner = async (args, stdin = '') => {
    const ok: NftRun = { code: 0, stdout: '', stderr: '' };
    if (args[0] === '-j') return { ...ok, stdout: '{"nftables": []}' };
    if (args[0] !== '-f') return ok;
    this.scripts.push(stdin);
    if (stdin.includes('add element')) {
      if (this.holdAdds) await new Promise<void>((resolve) => this.held.push(resolve));
      return ok;
    }
    // ApplyStatic or setDefaultAction: the transaction commits now; the process may take longer to exit.
    this.verdict = stdin.includes('counter name "l2_deny" drop') ? 'deny' : 'allow';
    if (stdin.startsWith('flush chain')) {
      this.verdicts.push(this.verdict);
      this.verdictCalls++;
      for (const w of this.callWaiters.splice(0)) w();
      if (this.holdVerdicts) await new Promise<void>((resolve) => this.held.push(resolve));
    }
    return ok;
  };

  /** Resolves once `setDefaultAction` has been called `n` times. */
  async verdictCalled(n: number): Promise<void> {
    while (this.verdictCalls < n) await new Promise<void>((resolve) => this.callWaiters.push(resolve));
  }

  /** Lets the held runs finish, and the next ones run through. */
  release(): void {
    this.holdAdds = false;
    this.holdVerdicts = false;
    for (const r of this.held.splice(0)) r();
  }
}

let up: Authoritative | undefined;
let sidecar: EgressSidecar | undefined;
let fake: FakeNft | undefined;

afterEach(async () => {
  fake?.release();
  await sidecar?.close();
  await up?.close();
  sidecar = undefined;
  up = undefined;
});

async function start(policy: unknown): Promise<{ base: string; dnsPort: number; logs: LogLine[]; nft: FakeNft }> {
  up = await startAuthoritative();
  fake = new FakeNft();
  const { logger, lines } = captureLogger();
  sidecar = await runEgressSidecar(
    ['--mode', 'dns+nft', '--dns-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${up.port}`],
    { PATH: process.env.PATH, OPENSANDBOX_EGRESS_INSTANCE_ID: 'fake-nft', OPENSANDBOX_NETWORK_POLICY: JSON.stringify(policy) },
    { logger, nftRunner: fake.run },
  );
  expect(sidecar.enforcementMode).toBe('dns+nft');
  return { base: `http://127.0.0.1:${sidecar.httpAddress.port}`, dnsPort: sidecar.dnsAddress.port, logs: lines, nft: fake };
}

describe('egress sidecar: dns+nft against a fake nft', () => {
  it('applies concurrent POST /policy one at a time, in arrival order: DNS and the nftables verdict end on the same policy', async () => {
    const { base, nft } = await start({ default_action: 'allow' });
    nft.holdVerdicts = true; // the first update's nft run commits at once, then does not exit until released
    const post = (policy: unknown) => fetch(`${base}/policy`, { method: 'POST', body: JSON.stringify(policy) });
    const first = post({ default_action: 'deny', egress: [{ action: 'allow', target: '*.example.test' }] });
    await nft.verdictCalled(1);
    const second = post({ default_action: 'allow' });
    // Both bodies are read: the first holds nft, the second waits for its turn and has not reached nft.
    await pollUntil('two policy updates waiting or being applied', async () => sidecar?.pendingPolicyUpdates(), (n) => n === 2, { timeoutMs: 5000, intervalMs: 10 });
    expect(nft.verdictCalls).toBe(1);
    nft.release();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect(nft.verdicts).toEqual(['deny', 'allow']);
    const current = (await (await fetch(`${base}/policy`)).json()) as { policy: { default_action: string } };
    expect(current.policy.default_action).toBe(nft.verdict);
    expect(nft.verdict).toBe('allow'); // the later request wins
    expect(sidecar?.pendingPolicyUpdates()).toBe(0);
  });

  it(`answers 429 to a policy update beyond ${MAX_PENDING_UPDATES} under way, and applies the others in order`, async () => {
    const { base, nft } = await start({ default_action: 'allow' });
    nft.holdVerdicts = true;
    const post = (policy: unknown) => fetch(`${base}/policy`, { method: 'POST', body: JSON.stringify(policy) });
    const actions = ['deny', 'allow', 'deny', 'allow'] as const;
    const held = actions.map((a, i) => post({ default_action: a, egress: [{ action: 'allow', target: `n${i}.example.test` }] }));
    await pollUntil(`${MAX_PENDING_UPDATES} policy updates waiting or being applied`, async () => sidecar?.pendingPolicyUpdates(), (n) => n === MAX_PENDING_UPDATES, { timeoutMs: 5000, intervalMs: 10 });
    const refused = await post({ default_action: 'deny' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(String(((await refused.json()) as { error: string }).error)).toContain('retry');
    nft.release();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(nft.verdicts).toEqual([...actions]);
    const current = (await (await fetch(`${base}/policy`)).json()) as { policy: { egress: { target: string }[] } };
    expect(current.policy.egress).toEqual([{ action: 'allow', target: 'n3.example.test' }]);
  });

  it('shows every documented family at the first scrape in dns+nft mode, with the mode in force and every enum series', async () => {
    const { base } = await start({ default_action: 'deny' });
    const { samples, type } = readExposition(await (await fetch(`${base}/metrics`)).text());
    for (const f of egress.families) expect(type.get(f.name), f.name).toBe(f.type);
    const value = (name: string, labels: Record<string, string>) => find(samples, name, labels).map((x) => x.value);
    expect(value('opensandbox_egress_enforcement_mode', { mode: 'dns+nft' })).toEqual([1]);
    expect(value('opensandbox_egress_enforcement_mode', { mode: 'dns' })).toEqual([0]);
    expect(value('opensandbox_egress_nft_apply_total', { result: 'success' })).toEqual([1]);
    expect(value('opensandbox_egress_nft_apply_total', { result: 'failure' })).toEqual([0]);
    expect(value('opensandbox_egress_violations_total', { type: 'l2_deny' })).toEqual([0]);
    expect(value('opensandbox_egress_policy_rule_count', { default_action: 'deny' })).toEqual([0]);
    expect(value('opensandbox_egress_policy_rule_count', { default_action: 'allow' })).toEqual([0]);
  });

  it('answers an allowed query within its bound when nft hangs on the allow set, and logs that once', async () => {
    const { dnsPort, logs, nft } = await start({ default_action: 'allow' });
    nft.holdAdds = true;
    const t0 = performance.now();
    expect(addresses(await udpQuery(dnsPort, query('echo-5.example.test'), 2000))).toEqual(['10.0.0.5']);
    expect(addresses(await udpQuery(dnsPort, query('echo-6.example.test', 2), 2000))).toEqual(['10.0.0.6']);
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(900); // each waited for its bound (500 ms)
    expect(elapsed).toBeLessThan(2000);
    expect(logs.filter((l) => l.msg.includes('slower than its bound'))).toHaveLength(1);
    nft.release(); // the held batch ends, the next one (echo-6's address) runs
    await vi.waitFor(() => expect(nft.scripts.some((s) => s.includes('10.0.0.6 timeout 300s'))).toBe(true));
  });

  it(`caps the addresses waiting for nft at ${MAX_PENDING_ADDITIONS}: the rest are dropped, counted, logged once, and written on a later answer`, async () => {
    const nft = new FakeNft();
    nft.holdAdds = true;
    const { logger, lines } = captureLogger();
    const m = new NftManager({ table: 't', upstreams: [], pinnedEndpoints: [], dohBlocklist: [], logger, run: nft.run });
    const ip = (i: number) => ({ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, family: 4 as const, ttl: 300 });
    const inFlight = m.addResolved([ip(0)]);
    const many = Array.from({ length: MAX_PENDING_ADDITIONS + 100 }, (_, i) => ip(i + 1));
    const queued = m.addResolved(many);
    const more = m.addResolved([ip(100_000), ip(100_001)]);
    expect(m.droppedAdditions).toBe(102);
    expect(lines.filter((l) => l.msg.includes('pending cap'))).toHaveLength(1);
    nft.release();
    expect(await inFlight).toBe(1);
    expect(await queued).toBe(MAX_PENDING_ADDITIONS);
    expect(await more).toBe(0);
    // A dropped address was not remembered as added: the next answer with it writes it.
    expect(await m.addResolved([ip(MAX_PENDING_ADDITIONS + 100)])).toBe(1);
    expect(await m.addResolved([ip(100_000)])).toBe(1);
  });
});
