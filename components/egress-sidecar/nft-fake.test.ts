import { afterEach, describe, expect, it, vi } from 'vitest';
import { runEgressSidecar, type EgressSidecar } from './main.ts';
import { MAX_PENDING_ADDITIONS, NftManager, type NftRun, type NftRunner } from './nft.ts';
import { startAuthoritative, type Authoritative } from './testing/authoritative.ts';
import { addresses, query, udpQuery } from './testing/dns-client.ts';
import { captureLogger, type LogLine } from './testing/harness.ts';

// dns+nft mode in-process against a fake `nft` whose timing the test controls: policy updates that
// race each other over real HTTP, an allow-set update that hangs while DNS must keep answering, and
// the cap on addresses waiting for nft.

/** A fake `nft`: it keeps the default verdict in force and lets the test delay or hold each kind of run. */
class FakeNft {
  /** The default verdict in the table, as the last committed transaction left it. */
  verdict: 'allow' | 'deny' | undefined;
  /** Milliseconds each `setDefaultAction` run takes after it committed, in call order (0 once used up). */
  readonly verdictDelays: number[] = [];
  verdictCalls = 0;
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
      const delay = this.verdictDelays[this.verdictCalls++] ?? 0;
      for (const w of this.callWaiters.splice(0)) w();
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    }
    return ok;
  };

  /** Resolves once `setDefaultAction` has been called `n` times. */
  async verdictCalled(n: number): Promise<void> {
    while (this.verdictCalls < n) await new Promise<void>((resolve) => this.callWaiters.push(resolve));
  }

  /** Lets the held `add element` runs finish. */
  release(): void {
    this.holdAdds = false;
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
    nft.verdictDelays.push(300); // the first update's nft run commits at once, then takes 300 ms to exit
    const post = (policy: unknown) => fetch(`${base}/policy`, { method: 'POST', body: JSON.stringify(policy) });
    const first = post({ default_action: 'deny', egress: [{ action: 'allow', target: '*.example.test' }] });
    await nft.verdictCalled(1);
    const second = post({ default_action: 'allow' });
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    const current = (await (await fetch(`${base}/policy`)).json()) as { policy: { default_action: string } };
    expect(current.policy.default_action).toBe(nft.verdict);
    expect(nft.verdict).toBe('allow'); // the later request wins
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
