import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthoritative, type Authoritative } from './testing/authoritative.ts';
import { scrape, total, type SampleLine } from '../../test/exposition.ts';
import { freeTcpUdpPort } from '../../test/ports.ts';
import { findProgram } from '../../test/processes.ts';
import { addresses, query, rcodeName, tcpQueries, udpExchange, udpQuery } from './testing/dns-client.ts';
import { startSidecar, type TestSidecar } from './testing/harness.ts';

// The proxy on real loopback sockets against a real authoritative server; counts read back from /metrics.

const run = promisify(execFile);
const POLICY = JSON.stringify({
  default_action: 'allow',
  egress: [
    { action: 'deny', target: '*.blocked.test' },
    { action: 'deny', target: 'evil.example.test' },
    { action: 'allow', target: 'evil.example.test' },
  ],
});
const TIMEOUT_MS = 400;

let up: Authoritative;
let t: TestSidecar;

beforeAll(async () => {
  up = await startAuthoritative();
  t = await startSidecar([`127.0.0.1:${up.port}`], { OPENSANDBOX_NETWORK_POLICY: POLICY }, ['--upstream-timeout-ms', String(TIMEOUT_MS)]);
});

afterAll(async () => {
  await t?.sidecar.close();
  await up?.close();
});

const queries = (s: readonly SampleLine[], result: string) => total(s, 'opensandbox_egress_dns_queries_total', { result });

describe('egress sidecar: DNS proxy', () => {
  it('forwards an allowed query over UDP and counts it allowed, with its forward duration', async () => {
    const before = (await scrape(t.metricsUrl)).samples;
    const answer = await udpQuery(t.dnsPort, query('www.example.test', 0x1234));
    expect(answer.id).toBe(0x1234);
    expect(rcodeName(answer)).toBe('NOERROR');
    expect(addresses(answer)).toEqual(['192.0.2.1']);
    const after = (await scrape(t.metricsUrl)).samples;
    expect(queries(after, 'allowed') - queries(before, 'allowed')).toBe(1);
    expect(total(after, 'opensandbox_egress_dns_forward_duration_seconds_count') - total(before, 'opensandbox_egress_dns_forward_duration_seconds_count')).toBe(1);
    expect(t.sidecar.pendingQueries()).toBe(0);
  });

  it('answers NXDOMAIN to a denied name (wildcard, any case), never forwards it, counts it and logs the violation', async () => {
    const before = (await scrape(t.metricsUrl)).samples;
    const seenBefore = up.received();
    const answer = await udpQuery(t.dnsPort, query('Deep.X.BLOCKED.test', 77));
    expect(answer.id).toBe(77);
    expect(rcodeName(answer)).toBe('NXDOMAIN');
    expect(answer.questions?.[0]?.name.toLowerCase()).toBe('deep.x.blocked.test');
    expect(up.received()).toBe(seenBefore);
    const after = (await scrape(t.metricsUrl)).samples;
    expect(queries(after, 'denied') - queries(before, 'denied')).toBe(1);
    expect(total(after, 'opensandbox_egress_violations_total', { type: 'dns_deny' }) - total(before, 'opensandbox_egress_violations_total', { type: 'dns_deny' })).toBe(1);
    const line = t.logs.find((l) => l.violation === 'dns_deny' && l.domain === 'deep.x.blocked.test');
    expect(line).toBeDefined();
    expect(line?.level).toBe(40);
    expect(line?.rule).toBe('egress[0] deny *.blocked.test');
    expect(String(line?.client)).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('lets the first matching rule win and does not apply a wildcard to its apex', async () => {
    expect(rcodeName(await udpQuery(t.dnsPort, query('evil.example.test')))).toBe('NXDOMAIN');
    // "*.blocked.test" matches subdomains only: the apex falls to default_action allow (and the zone answers NXDOMAIN itself).
    const apexSeen = up.seen.get('blocked.test') ?? 0;
    await udpQuery(t.dnsPort, query('blocked.test'));
    expect(up.seen.get('blocked.test')).toBe(apexSeen + 1);
  });

  it('serves pipelined queries over TCP', async () => {
    const answers = await tcpQueries(t.dnsPort, [query('a.example.test', 1), query('b.example.test', 2, 'AAAA'), query('x.blocked.test', 3)]);
    const byId = new Map(answers.map((a) => [a.id, a]));
    expect(addresses(byId.get(1) as dnsPacket.DecodedPacket)).toEqual(['192.0.2.1']);
    expect(addresses(byId.get(2) as dnsPacket.DecodedPacket)).toEqual(['2001:db8::1']);
    expect(rcodeName(byId.get(3) as dnsPacket.DecodedPacket)).toBe('NXDOMAIN');
  });

  it('answers SERVFAIL when the upstream stays silent, counts forward_error and leaves no pending entry', async () => {
    const before = (await scrape(t.metricsUrl)).samples;
    // The client waits far longer than the proxy's budget: the SERVFAIL must come from the proxy.
    const answer = await udpQuery(t.dnsPort, query('silent.example.test', 9), TIMEOUT_MS * 10);
    expect(rcodeName(answer)).toBe('SERVFAIL');
    expect(answer.id).toBe(9);
    expect(t.sidecar.pendingQueries()).toBe(0);
    const after = (await scrape(t.metricsUrl)).samples;
    expect(queries(after, 'forward_error') - queries(before, 'forward_error')).toBe(1);
    expect(queries(after, 'allowed') - queries(before, 'allowed')).toBe(0);
  });

  it('relays an upstream SERVFAIL as forward_error and turns REFUSED into SERVFAIL', async () => {
    const before = (await scrape(t.metricsUrl)).samples;
    expect(rcodeName(await udpQuery(t.dnsPort, query('servfail.example.test')))).toBe('SERVFAIL');
    expect(rcodeName(await udpQuery(t.dnsPort, query('refused.example.test')))).toBe('SERVFAIL');
    const after = (await scrape(t.metricsUrl)).samples;
    expect(queries(after, 'forward_error') - queries(before, 'forward_error')).toBe(2);
  });

  it('retries a truncated UDP answer over TCP and returns the full answer to the UDP client', async () => {
    const before = up.seen.get('tc.example.test') ?? 0;
    const answer = await udpQuery(t.dnsPort, query('tc.example.test', 5));
    expect(answer.flag_tc).toBe(false);
    expect(addresses(answer)).toEqual(['192.0.2.99']);
    expect(up.seen.get('tc.example.test')).toBe(before + 2); // once over UDP, once over TCP
    expect(t.sidecar.pendingQueries()).toBe(0);
  });

  it('keeps an answer that exceeds the UDP client limit truncated, so the client retries over TCP', async () => {
    const small = await udpQuery(t.dnsPort, query('big.example.test', 6));
    expect(small.flag_tc).toBe(true);
    const [full] = await tcpQueries(t.dnsPort, [query('big.example.test', 7)]);
    expect(addresses(full as dnsPacket.DecodedPacket)).toHaveLength(40);
    const withEdns = await udpQuery(t.dnsPort, query('big.example.test', 8, 'A', 4096));
    expect(withEdns.flag_tc).toBe(false);
    expect(addresses(withEdns)).toHaveLength(40);
  });

  it('matches answers to the right clients when concurrent clients use the same query id', async () => {
    const n = 200;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => udpQuery(t.dnsPort, query(`echo-${i}.example.test`, 4242), 5000).then((a) => ({ i, a }))),
    );
    for (const { i, a } of results) {
      expect(a.id).toBe(4242);
      expect(a.questions?.[0]?.name).toBe(`echo-${i}.example.test`);
      expect(addresses(a)).toEqual([`10.0.${i >> 8}.${i & 255}`]);
    }
    // One socket, many queries with one id in flight at once: each answer still carries its own question.
    const s = createSocket('udp4');
    const got = new Map<string, string[]>();
    const done = new Promise<void>((resolve) => {
      s.on('message', (msg) => {
        const a = dnsPacket.decode(msg);
        got.set(a.questions?.[0]?.name ?? '', addresses(a));
        if (got.size === 50) resolve();
      });
    });
    for (let i = 0; i < 50; i++) s.send(query(`echo-${1000 + i}.example.test`, 7), t.dnsPort, '127.0.0.1');
    await done;
    s.close();
    for (let i = 0; i < 50; i++) expect(got.get(`echo-${1000 + i}.example.test`)).toEqual([`10.0.${(1000 + i) >> 8}.${(1000 + i) & 255}`]);
    expect(t.sidecar.pendingQueries()).toBe(0);
  });

  it('answers the answered and fails the silent among interleaved queries in flight, leaving nothing pending', async () => {
    // Answers arrive for every other query while the silent ones wait out the budget: entries leave the
    // pending table from its middle and its front, and the expiry still finds every silent one.
    const names = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? `echo-${2000 + i}.example.test` : 'silent.example.test'));
    const answers = await Promise.all(names.map((n, i) => udpExchange(t.dnsPort, query(n, 500 + i), TIMEOUT_MS * 10)));
    for (const [i, raw] of answers.entries()) {
      expect(raw, names[i]).toBeDefined();
      const a = dnsPacket.decode(raw as Buffer);
      expect(a.id).toBe(500 + i);
      if (i % 2 === 0) expect(addresses(a)).toEqual([`10.0.${(2000 + i) >> 8}.${(2000 + i) & 255}`]);
      else expect(rcodeName(a)).toBe('SERVFAIL');
    }
    expect(t.sidecar.pendingQueries()).toBe(0);
  });

  it('answers dig', async (ctx) => {
    const dig = findProgram('dig');
    if (!dig) {
      ctx.skip('dig is not installed (apt-get install -y dnsutils); the UDP and TCP socket tests cover the same path');
      return;
    }
    const { stdout } = await run(dig, ['@127.0.0.1', '-p', String(t.dnsPort), '+short', '+time=2', '+tries=1', 'dig.example.test']);
    expect(stdout.trim()).toBe('192.0.2.1');
    const tcp = await run(dig, ['@127.0.0.1', '-p', String(t.dnsPort), '+tcp', '+time=2', '+tries=1', 'x.blocked.test']);
    expect(tcp.stdout).toContain('status: NXDOMAIN');
  });

  it('counts what it was sent: allowed + denied + forward_error equals the answered queries', async () => {
    const before = (await scrape(t.metricsUrl)).samples;
    const names = ['c1.example.test', 'c2.example.test', 'z.blocked.test', 'silent.example.test', 'c3.example.test'];
    for (const n of names) await udpQuery(t.dnsPort, query(n), TIMEOUT_MS * 10);
    const after = (await scrape(t.metricsUrl)).samples;
    expect(queries(after, 'allowed') - queries(before, 'allowed')).toBe(3);
    expect(queries(after, 'denied') - queries(before, 'denied')).toBe(1);
    expect(queries(after, 'forward_error') - queries(before, 'forward_error')).toBe(1);
  });

  it('exposes the eleven documented families with instance_id on each', async () => {
    const res = await fetch(`${t.base}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const families = [
      'dns_queries_total', 'dns_forward_duration_seconds', 'policy_updates_total', 'policy_rule_count', 'enforcement_mode',
      'nft_apply_total', 'nft_resolved_ips_added_total', 'nft_doh_dot_packets_dropped_total', 'violations_total', 'info', 'uptime_seconds',
    ].map((f) => `opensandbox_egress_${f}`);
    for (const f of families) {
      expect(text).toContain(`# TYPE ${f} `);
      expect(text).toMatch(new RegExp(`^${f}(_bucket|_count|_sum)?\\{[^}]*instance_id="test-sidecar"`, 'm'));
    }
    expect(text).toMatch(/^opensandbox_egress_info\{[^}]*enforcement_mode="dns"[^}]*version="\d+\.\d+\.\d+"[^}]*\} 1$/m);
    expect(text).toMatch(/^opensandbox_egress_enforcement_mode\{[^}]*mode="dns"[^}]*\} 1$/m);
    expect(text).toMatch(/^opensandbox_egress_policy_rule_count\{[^}]*default_action="allow"[^}]*\} 3$/m);
    expect(text).toMatch(/^opensandbox_egress_uptime_seconds\{[^}]*\} \d/m);
  });
});

describe('egress sidecar: unreachable upstream', () => {
  it('answers SERVFAIL when nothing listens at the upstream address, without leaking pending entries, and recovers when it is back', async () => {
    const port = await freeTcpUdpPort(); // nothing listens there; the upstream comes back on it later
    const s = await startSidecar([`127.0.0.1:${port}`], {}, ['--upstream-timeout-ms', '300']);
    let back: Authoritative | undefined;
    try {
      const answers = await Promise.all([1, 2, 3].map((id) => udpExchange(s.dnsPort, query(`q${id}.example.test`, id), 3000)));
      for (const raw of answers) {
        expect(raw).toBeDefined();
        expect(rcodeName(dnsPacket.decode(raw as Buffer))).toBe('SERVFAIL');
      }
      expect(s.sidecar.pendingQueries()).toBe(0);
      expect(total((await scrape(s.metricsUrl)).samples, 'opensandbox_egress_dns_queries_total', { result: 'forward_error' })).toBe(3);
      // The upstream comes back on the same port: the same socket carries on.
      back = await startAuthoritative('127.0.0.1', port);
      expect(addresses(await udpQuery(s.dnsPort, query('back.example.test'), 3000))).toEqual(['192.0.2.1']);
    } finally {
      await s.sidecar.close();
      await back?.close();
    }
  });

  it('fails over to the next upstream when the first is silent', async () => {
    const silent = createSocket('udp4');
    const port = await new Promise<number>((resolve) => silent.bind(0, '127.0.0.1', () => resolve(silent.address().port)));
    const good = await startAuthoritative();
    const s = await startSidecar([`127.0.0.1:${port}`, `127.0.0.1:${good.port}`], {}, ['--upstream-timeout-ms', '600']);
    try {
      const answer = await udpQuery(s.dnsPort, query('failover.example.test', 3), 5000);
      expect(addresses(answer)).toEqual(['192.0.2.1']);
      expect(s.sidecar.pendingQueries()).toBe(0);
    } finally {
      await s.sidecar.close();
      await good.close();
      silent.close();
    }
  });
});
