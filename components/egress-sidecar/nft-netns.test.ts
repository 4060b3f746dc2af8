import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NftManager, systemNft } from './nft.ts';
import { parseExposition, total, type SampleLine } from '../../test/exposition.ts';
import { pollUntil } from '../../test/poll.ts';
import { findProgram, NODE_BIN, startProcess, type TestProcess } from '../../test/processes.ts';
import { spawnSidecar, TESTING, type ChildSidecar } from './testing/child.ts';

// dns+nft mode for real: the sidecar runs inside a network namespace this test creates, applies its
// nftables table there, and the test checks the table, the allow set and the dropped DoT/DoH packets
// from inside the namespace. Needs root, `ip` and `nft` (CI installs them); it fails, loudly, without.

const run = promisify(execFile);
const NS = `oc-egress-${process.pid}`;
const TABLE = 'oc_egress_test';
const POLICY = { default_action: 'deny', egress: [{ action: 'deny', target: 'collector.example.test' }, { action: 'allow', target: '*.example.test' }] };

let upstream: TestProcess | undefined;
let sidecar: ChildSidecar | undefined;
let nsCreated = false;
let upstreamPort = 0;

async function inNs(cmd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', NS, cmd, ...args], { timeout: 15_000 });
  return stdout;
}

/** Runs testing/ns-client.ts inside the namespace and returns its JSON. */
async function client(...args: string[]): Promise<Record<string, unknown>> {
  return JSON.parse(await inNs(NODE_BIN, TESTING('ns-client.ts'), ...args)) as Record<string, unknown>;
}

async function metrics(): Promise<SampleLine[]> {
  const r = await client('http', 'GET', `http://127.0.0.1:${sidecar?.httpPort}/metrics`);
  expect(r.status).toBe(200);
  return parseExposition(String(r.body));
}

/** `nft` inside the namespace, for an {@link NftManager} driven by the test itself. */
const nsNft = systemNft(15_000, ['ip', 'netns', 'exec', NS, 'nft']);

async function setElements(set: string, table = TABLE): Promise<{ val: string; timeout?: number; expires?: number }[]> {
  const doc = JSON.parse(await inNs('nft', '-j', 'list', 'set', 'inet', table, set)) as { nftables: { set?: { elem?: ({ elem: { val: string; timeout?: number; expires?: number } } | string)[] } }[] };
  const elems = doc.nftables.find((x) => x.set)?.set?.elem ?? [];
  return elems.map((e) => (typeof e === 'string' ? { val: e } : e.elem));
}

beforeAll(async () => {
  const missing = [];
  for (const cmd of ['ip', 'nft']) if (!findProgram(cmd)) missing.push(cmd);
  if (missing.length) throw new Error(`the dns+nft test needs ${missing.join(' and ')}: apt-get install -y iproute2 nftables (CI installs them through otel-config/provision.sh)`);
  if (process.getuid?.() !== 0) throw new Error('the dns+nft test creates a network namespace and needs root');

  await run('ip', ['netns', 'add', NS]);
  nsCreated = true;
  await inNs('ip', 'link', 'set', 'lo', 'up');
  // A veth pair inside the namespace gives non-loopback addresses a route, so packets reach the output hook.
  await inNs('ip', 'link', 'add', 'oc0', 'type', 'veth', 'peer', 'name', 'oc1');
  await inNs('ip', 'addr', 'add', '10.203.0.1/24', 'dev', 'oc0');
  await inNs('ip', 'link', 'set', 'oc0', 'up');
  await inNs('ip', 'link', 'set', 'oc1', 'up');
  await inNs('ip', 'route', 'add', 'default', 'dev', 'oc0');

  upstream = startProcess(`authoritative DNS inside ${NS}`, 'ip', ['netns', 'exec', NS, NODE_BIN, TESTING('authoritative.ts'), '--host', '127.0.0.1', '--port', '0']);
  upstreamPort = Number((await upstream.waitForLine(/\{"port":(\d+)\}/))[1]);

  sidecar = await spawnSidecar(
    ['--mode', 'dns+nft', '--dns-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${upstreamPort}`, '--nft-table', TABLE, '--doh-blocklist', '10.203.0.53', '--upstream-timeout-ms', '1000'],
    {
      PATH: process.env.PATH,
      OPENSANDBOX_EGRESS_INSTANCE_ID: 'nft-test',
      OPENSANDBOX_NETWORK_POLICY: JSON.stringify(POLICY),
      OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000',
      // Pinned destinations: a name (kept resolved into the allow set) and an IP (a static rule).
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://collector.example.test:4318/v1/metrics',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://10.203.0.9:4318',
      OTEL_METRIC_EXPORT_INTERVAL: '600000',
      OTEL_CONTRACTS_EXIT_TIMEOUT_MS: '500',
    },
    ['ip', 'netns', 'exec', NS],
  );
});

afterAll(async () => {
  try {
    if (sidecar) await sidecar.stop();
    if (upstream) await upstream.stop('SIGTERM', 5000);
  } finally {
    if (nsCreated) await run('ip', ['netns', 'delete', NS]);
  }
});

describe('egress sidecar: dns+nft in a network namespace', () => {
  it('applies its table (ApplyStatic) and reports dns+nft', async () => {
    expect(sidecar?.ready.mode).toBe('dns+nft');
    const doc = JSON.parse(await inNs('nft', '-j', 'list', 'table', 'inet', TABLE)) as { nftables: Record<string, { name?: string; flags?: string[] }>[] };
    const sets = doc.nftables.filter((x) => x.set).map((x) => x.set?.name);
    expect(sets).toEqual(expect.arrayContaining(['allow_v4', 'allow_v6', 'doh_v4']));
    expect(doc.nftables.find((x) => x.set?.name === 'allow_v4')?.set?.flags).toContain('timeout');
    expect(doc.nftables.filter((x) => x.counter).map((x) => x.counter?.name)).toEqual(expect.arrayContaining(['dot_853', 'doh_443', 'l2_deny']));
    const text = await inNs('nft', 'list', 'table', 'inet', TABLE);
    expect(text).toContain(`ip daddr 127.0.0.1 udp dport ${upstreamPort} accept`);
    expect(text).toContain('ip daddr 10.203.0.9 tcp dport 4318 accept');
    expect(text).toContain('th dport 853 counter name "dot_853" drop');
    expect(text).toContain('ip daddr @doh_v4 tcp dport 443 counter name "doh_443" drop');
    expect(text).toMatch(/chain verdict \{\s*counter name "l2_deny" drop/);

    const m = await metrics();
    expect(total(m, 'opensandbox_egress_nft_apply_total', { result: 'success' })).toBe(1);
    expect(total(m, 'opensandbox_egress_nft_apply_total', { result: 'failure' })).toBe(0);
    expect(total(m, 'opensandbox_egress_enforcement_mode', { mode: 'dns+nft', instance_id: 'nft-test' })).toBe(1);
    expect(total(m, 'opensandbox_egress_info', { enforcement_mode: 'dns+nft' })).toBe(1);
  });

  it('keeps its own OTLP endpoint reachable: the pinned name resolves despite a deny rule and its address is in the set', async () => {
    expect((await setElements('allow_v4')).map((e) => e.val)).toContain('192.0.2.1');
    const r = await client('query', String(sidecar?.dnsPort), 'collector.example.test');
    expect(r.rcode).toBe('NOERROR');
    const policy = JSON.parse(String((await client('http', 'GET', `http://127.0.0.1:${sidecar?.httpPort}/policy`)).body)) as { alwaysAllowed: { name: string }[] };
    expect(policy.alwaysAllowed.map((p) => p.name)).toContain('collector.example.test');
  });

  it('adds the A and AAAA addresses of an allowed answer to the allow sets, with the answer TTL', async () => {
    const before = await metrics();
    expect((await setElements('allow_v4')).map((e) => e.val)).not.toContain('10.0.0.77');
    const a = await client('query', String(sidecar?.dnsPort), 'echo-77.example.test', 'A');
    expect(a).toMatchObject({ rcode: 'NOERROR', answers: ['10.0.0.77'] });
    const v4 = await setElements('allow_v4');
    const added = v4.find((e) => e.val === '10.0.0.77');
    expect(added).toBeDefined();
    expect(added?.timeout).toBe(300);
    const aaaa = await client('query', String(sidecar?.dnsPort), 'v6.example.test', 'AAAA');
    expect(aaaa).toMatchObject({ rcode: 'NOERROR', answers: ['2001:db8::1'] });
    expect((await setElements('allow_v6')).map((e) => e.val)).toContain('2001:db8::1');
    const after = await metrics();
    expect(total(after, 'opensandbox_egress_nft_resolved_ips_added_total') - total(before, 'opensandbox_egress_nft_resolved_ips_added_total')).toBeGreaterThanOrEqual(1);
    expect(total(after, 'opensandbox_egress_dns_queries_total', { result: 'allowed' }) - total(before, 'opensandbox_egress_dns_queries_total', { result: 'allowed' })).toBe(2);
  });

  it('answers NXDOMAIN to a name outside the policy and counts the violation', async () => {
    const r = await client('query', String(sidecar?.dnsPort), 'outside.test');
    expect(r.rcode).toBe('NXDOMAIN');
    const m = await metrics();
    expect(total(m, 'opensandbox_egress_violations_total', { type: 'dns_deny' })).toBe(1);
  });

  it('drops a TCP connection attempt to port 853 (DoT) and counts it', async () => {
    const before = total(await metrics(), 'opensandbox_egress_nft_doh_dot_packets_dropped_total', { reason: 'dot_853' });
    const r = await client('connect', '10.203.0.2', '853', '400');
    expect(r.outcome).not.toBe('connected');
    const after = total(await metrics(), 'opensandbox_egress_nft_doh_dot_packets_dropped_total', { reason: 'dot_853' });
    expect(after - before).toBeGreaterThanOrEqual(1);
  });

  it('drops HTTPS to a listed DoH resolver and counts it as doh_443', async () => {
    const before = await metrics();
    const r = await client('connect', '10.203.0.53', '443', '400');
    expect(r.outcome).not.toBe('connected');
    const after = await metrics();
    const d = (s: readonly SampleLine[], reason: string) => total(s, 'opensandbox_egress_nft_doh_dot_packets_dropped_total', { reason });
    expect(d(after, 'doh_443') - d(before, 'doh_443')).toBeGreaterThanOrEqual(1);
    expect(d(after, 'dot_853') - d(before, 'dot_853')).toBe(0);
  });

  it('drops other destinations under default deny (l2_deny) but lets allowed and pinned addresses through', async () => {
    const l2 = async () => total(await metrics(), 'opensandbox_egress_violations_total', { type: 'l2_deny' });
    const start = await l2();
    await client('connect', '10.203.0.7', '80', '300');
    const afterDenied = await l2();
    expect(afterDenied - start).toBeGreaterThanOrEqual(1);
    await client('connect', '10.0.0.77', '80', '300'); // learned from an allowed answer
    await client('connect', '10.203.0.9', '4318', '300'); // the pinned OTLP IP
    expect(await l2()).toBe(afterDenied);
  });

  it('follows a policy change to default allow in the verdict chain', async () => {
    const r = await client('http', 'POST', `http://127.0.0.1:${sidecar?.httpPort}/policy`, JSON.stringify({ default_action: 'allow' }));
    expect(r.status).toBe(200);
    const chain = await inNs('nft', 'list', 'chain', 'inet', TABLE, 'verdict');
    expect(chain).not.toContain('drop');
    const m = await metrics();
    expect(total(m, 'opensandbox_egress_nft_apply_total', { result: 'success' })).toBe(2);
    expect(total(m, 'opensandbox_egress_policy_rule_count', { default_action: 'allow' })).toBe(0);
    const l2 = total(m, 'opensandbox_egress_violations_total', { type: 'l2_deny' });
    await client('connect', '10.203.0.8', '80', '300');
    expect(total(await metrics(), 'opensandbox_egress_violations_total', { type: 'l2_deny' })).toBe(l2);
  });

  it('refreshes the expiry of an address already in the allow set when it is resolved again', async () => {
    // Its own table, driven directly, on a clock the test advances: the manager must see the entries as more
    // than half expired long before the kernel does.
    const table = 'oc_egress_refresh';
    let clock = Date.now();
    const nft = new NftManager({ table, upstreams: [], pinnedEndpoints: [], dohBlocklist: [], logger: pino({ level: 'silent' }), run: nsNft, now: () => clock });
    await nft.applyStatic('allow');
    try {
      const first = [
        { ip: '10.9.0.1', family: 4, ttl: 60 },
        { ip: '10.9.0.2', family: 4, ttl: 60 },
        { ip: '2001:db8::9', family: 6, ttl: 60 },
      ] as const;
      expect(await nft.addResolved(first)).toBe(3);
      // The kernel's own expiry has to run down visibly (at most 58 s of 60 left), or a refreshed element
      // could not be told from one left alone: poll the set for it instead of sleeping.
      const expiresOf = async (ip: string, set: string) => (await setElements(set, table)).find((e) => e.val === ip)?.expires ?? Number.NaN;
      await pollUntil('the kernel expiry of 10.9.0.1 and 2001:db8::9 to run down to 58 s', async () => Math.max(await expiresOf('10.9.0.1', 'allow_v4'), await expiresOf('2001:db8::9', 'allow_v6')), (left) => left <= 58, { timeoutMs: 10_000, intervalMs: 100 });
      clock += 31_000; // the manager's clock: more than half of the 60 s gone
      // Same timeout (the kernel keeps an element's expiry on a plain re-add), a longer one, and an address not yet in the set.
      const again = [
        { ip: '10.9.0.1', family: 4, ttl: 60 },
        { ip: '10.9.0.2', family: 4, ttl: 300 },
        { ip: '2001:db8::9', family: 6, ttl: 60 },
        { ip: '10.9.0.3', family: 4, ttl: 120 },
      ] as const;
      expect(await nft.addResolved(again)).toBe(4);
      // Within the first half of the new timeouts on the manager's clock: nothing is written again.
      clock += 1000;
      expect(await nft.addResolved(again)).toBe(0);
      const v4 = await setElements('allow_v4', table);
      const v6 = await setElements('allow_v6', table);
      const el = (list: typeof v4, ip: string) => list.find((e) => e.val === ip);
      expect(el(v4, '10.9.0.1')).toMatchObject({ timeout: 60 });
      expect(el(v4, '10.9.0.1')?.expires).toBeGreaterThanOrEqual(59);
      expect(el(v4, '10.9.0.2')).toMatchObject({ timeout: 300 });
      expect(el(v4, '10.9.0.2')?.expires).toBeGreaterThanOrEqual(299);
      expect(el(v4, '10.9.0.3')).toMatchObject({ timeout: 120 });
      expect(el(v6, '2001:db8::9')).toMatchObject({ timeout: 60 });
      expect(el(v6, '2001:db8::9')?.expires).toBeGreaterThanOrEqual(59);
    } finally {
      await nft.removeTable();
    }
  });
});
