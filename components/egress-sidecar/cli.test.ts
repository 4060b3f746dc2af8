import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthoritative, type Authoritative } from './testing/authoritative.ts';
import { runNode } from '../../test/processes.ts';
import { MAIN, spawnSidecar } from './testing/child.ts';
import { find, readExposition, scrape, total } from '../../test/exposition.ts';
import { egress } from '../../semconv/generated/egress.ts';
import { sidecarVersion } from './metrics.ts';
import { addresses, query, udpQuery } from './testing/dns-client.ts';

// The sidecar as `npm start` runs it: a child process, its log lines, its first scrape, the addresses it
// refuses to serve on, its exit, its OTLP push.

const BASE_ENV = { PATH: process.env.PATH, OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000', OPENSANDBOX_EGRESS_INSTANCE_ID: 'cli-test' };

let up: Authoritative;

beforeAll(async () => {
  up = await startAuthoritative();
});

afterAll(async () => {
  await up?.close();
});

/** Runs the sidecar with `args` to its exit (killed after 15 s). */
function runToExit(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stderr: string }> {
  return runNode(`egress sidecar ${args.join(' ')}`, [MAIN, ...args], env, 15_000);
}

describe('egress sidecar: command line', () => {
  it('logs where DNS, the policy API and /metrics listen, serves queries, and exits 0 on SIGTERM', async () => {
    const s = await spawnSidecar(['--dns-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${up.port}`], BASE_ENV);
    try {
      expect(s.ready.dns).toBe(`udp+tcp 127.0.0.1:${s.dnsPort}`);
      expect(s.ready.policy).toBe(`http://127.0.0.1:${s.httpPort}/policy`);
      expect(s.ready.metrics).toBe(`http://127.0.0.1:${s.httpPort}/metrics`);
      expect(s.ready.mode).toBe('dns');
      expect(addresses(await udpQuery(s.dnsPort, query('cli.example.test')))).toEqual(['192.0.2.1']);
      const m = (await scrape(s.metricsUrl)).samples;
      expect(total(m, 'opensandbox_egress_dns_queries_total', { result: 'allowed', instance_id: 'cli-test' })).toBe(1);
    } finally {
      expect(await s.stop()).toBe(0);
    }
    // No push configured: the shutdown is quiet at the default level, and the process still exits 0 above.
    expect(s.lines.some((l) => l.msg === 'shutting down: final push')).toBe(false);
  });

  it('refuses bad flags and a bad OPENSANDBOX_NETWORK_POLICY with a message naming them, exit 1', async () => {
    const mode = await runToExit(['--mode', 'iptables', '--upstream', `127.0.0.1:${up.port}`], BASE_ENV);
    expect(mode.code).toBe(1);
    expect(mode.stderr).toContain('--mode="iptables": expected dns or dns+nft');
    const upstream = await runToExit(['--upstream', 'resolver.internal:53'], BASE_ENV);
    expect(upstream.code).toBe(1);
    expect(upstream.stderr).toContain('must be an IP address');
    const policy = await runToExit(['--upstream', `127.0.0.1:${up.port}`], { ...BASE_ENV, OPENSANDBOX_NETWORK_POLICY: '{"egress":[{"action":"allow","target":"*.*"}]}' });
    expect(policy.code).toBe(1);
    expect(policy.stderr).toContain('OPENSANDBOX_NETWORK_POLICY');
    expect(policy.stderr).toContain('egress[0].target');
    const unknown = await runToExit(['--frobnicate'], BASE_ENV);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('--frobnicate');
  });

  it('falls back to DNS-only when nftables cannot be applied, and says so in its metrics and /policy', async () => {
    // No nft on PATH: ApplyStatic fails the way it does without the binary.
    const s = await spawnSidecar(['--mode', 'dns+nft', '--dns-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${up.port}`], { ...BASE_ENV, PATH: '/nonexistent' });
    try {
      expect(s.ready.mode).toBe('dns');
      expect(s.ready.modeRequested).toBe('dns+nft');
      const m = (await scrape(s.metricsUrl)).samples;
      expect(total(m, 'opensandbox_egress_nft_apply_total', { result: 'failure' })).toBe(1);
      expect(total(m, 'opensandbox_egress_nft_apply_total', { result: 'success' })).toBe(0);
      expect(total(m, 'opensandbox_egress_enforcement_mode', { mode: 'dns' })).toBe(1);
      expect(total(m, 'opensandbox_egress_enforcement_mode', { mode: 'dns+nft' })).toBe(0);
      expect(total(m, 'opensandbox_egress_info', { enforcement_mode: 'dns' })).toBe(1);
      const policy = (await (await fetch(`http://127.0.0.1:${s.httpPort}/policy`)).json()) as { enforcementMode: string };
      expect(policy.enforcementMode).toBe('dns');
      expect(s.lines.some((l) => String(l.msg).startsWith('nftables ApplyStatic failed'))).toBe(true);
      expect(addresses(await udpQuery(s.dnsPort, query('still.example.test')))).toEqual(['192.0.2.1']);
    } finally {
      await s.stop();
    }
  });

  it('pushes over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, with a final push on SIGTERM', async () => {
    const bodies: string[] = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        if (req.url === '/v1/metrics') bodies.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    const port = (receiver.address() as { port: number }).port;
    try {
      const s = await spawnSidecar(['--dns-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${up.port}`], {
        ...BASE_ENV,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_METRIC_EXPORT_INTERVAL: '600000',
      });
      expect(s.ready.push).toBe(`http://127.0.0.1:${port}/v1/metrics`);
      for (const n of ['p1', 'p2']) await udpQuery(s.dnsPort, query(`${n}.example.test`));
      await udpQuery(s.dnsPort, query('silent.example.test'), 10_000);
      expect(await s.stop()).toBe(0);
      const last = bodies.at(-1) ?? '';
      expect(last).toContain('opensandbox_egress_dns_queries_total');
      expect(last).toContain('cli-test');
      // The pushed counter carries the three queries: 2 allowed, 1 forward_error.
      const doc = JSON.parse(last) as { resourceMetrics: { scopeMetrics: { metrics: { name: string; sum?: { dataPoints: { asInt?: string; asDouble?: number; attributes: { key: string; value: { stringValue?: string } }[] }[] } }[] }[] }[] };
      const points = doc.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((sm) => sm.metrics)).filter((m) => m.name === 'opensandbox_egress_dns_queries_total').flatMap((m) => m.sum?.dataPoints ?? []);
      const value = (result: string) => Number(points.find((p) => p.attributes.some((a) => a.key === 'result' && a.value.stringValue === result))?.asInt ?? points.find((p) => p.attributes.some((a) => a.key === 'result' && a.value.stringValue === result))?.asDouble ?? -1);
      expect(value('allowed')).toBe(2);
      expect(value('forward_error')).toBe(1);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });

  it('shows every documented family at the first scrape, with every documented label and every enum series at 0 (dns mode)', async () => {
    const s = await spawnSidecar(['--dns-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${up.port}`], BASE_ENV);
    try {
      const histograms = new Set(egress.families.filter((f) => f.type === 'histogram').map((f) => f.name));
      const first = readExposition(await (await fetch(s.metricsUrl)).text(), histograms);
      const seriesOf = (family: string) => first.samples.filter((x) => x.family === family);
      for (const f of egress.families) {
        expect(first.help.get(f.name), f.name).toBe(f.help);
        expect(first.type.get(f.name), f.name).toBe(f.type);
        // Every label with a documented value set, and every required one, on every series; `domain` is opt-in (unbounded).
        const keys = ['instance_id', ...f.labels.filter((l) => l.required || 'values' in l).map((l) => l.name)].sort();
        for (const x of seriesOf(f.name)) expect(Object.keys(x.labels).filter((k) => k !== 'le').sort(), `${x.name} ${JSON.stringify(x.labels)}`).toEqual(keys);
        expect(seriesOf(f.name).length, f.name).toBeGreaterThan(0);
        for (const label of f.labels) {
          if (!('values' in label) || f.name === 'opensandbox_egress_info') continue;
          for (const v of label.values) expect(find(first.samples, f.name, { [label.name]: v }).length, `${f.name}{${label.name}="${v}"}`).toBe(1);
        }
      }
      const value = (name: string, labels: Record<string, string> = {}) => find(first.samples, name, labels).map((x) => x.value);
      for (const result of ['allowed', 'denied', 'forward_error']) expect(value('opensandbox_egress_dns_queries_total', { result })).toEqual([0]);
      for (const type of ['dns_deny', 'l2_deny']) expect(value('opensandbox_egress_violations_total', { type })).toEqual([0]);
      for (const result of ['success', 'failure']) expect(value('opensandbox_egress_nft_apply_total', { result })).toEqual([0]);
      for (const reason of ['dot_853', 'doh_443']) expect(value('opensandbox_egress_nft_doh_dot_packets_dropped_total', { reason })).toEqual([0]);
      expect(value('opensandbox_egress_nft_resolved_ips_added_total')).toEqual([0]);
      expect(value('opensandbox_egress_policy_updates_total')).toEqual([0]);
      expect(value('opensandbox_egress_policy_rule_count', { default_action: 'allow' })).toEqual([0]);
      expect(value('opensandbox_egress_policy_rule_count', { default_action: 'deny' })).toEqual([0]);
      expect(value('opensandbox_egress_enforcement_mode', { mode: 'dns' })).toEqual([1]);
      expect(value('opensandbox_egress_enforcement_mode', { mode: 'dns+nft' })).toEqual([0]);
      // The info family: one series, the mode in force and the version, never a 0 for the other mode.
      expect(find(first.samples, 'opensandbox_egress_info').map((x) => [x.labels, x.value])).toEqual([[{ instance_id: 'cli-test', enforcement_mode: 'dns', version: sidecarVersion() }, 1]]);
      expect(value('opensandbox_egress_uptime_seconds')[0]).toBeGreaterThan(0);

      // The histogram starts with zero counts in every documented bucket; the first forwarded answer counts 1.
      expect(value('opensandbox_egress_dns_forward_duration_seconds_count')).toEqual([0]);
      expect(find(first.samples, 'opensandbox_egress_dns_forward_duration_seconds_bucket').every((x) => x.value === 0)).toBe(true);
      await udpQuery(s.dnsPort, query('first.example.test'));
      const after = readExposition(await (await fetch(s.metricsUrl)).text(), histograms);
      const buckets = find(after.samples, 'opensandbox_egress_dns_forward_duration_seconds_bucket').map((x) => x.labels.le);
      const documented = egress.families.find((f) => f.name === 'opensandbox_egress_dns_forward_duration_seconds')?.buckets ?? [];
      expect(buckets).toEqual([...documented.map(String), '+Inf']);
      expect(find(after.samples, 'opensandbox_egress_dns_forward_duration_seconds_count', { instance_id: 'cli-test' }).map((x) => x.value)).toEqual([1]);
    } finally {
      await s.stop();
    }
  });

  it('refuses --http-listen beyond loopback without OTEL_CONTRACTS_ALLOW_NON_LOOPBACK, and with it but without OPENSANDBOX_EGRESS_TOKEN: exit 1', async () => {
    const args = ['--dns-listen', '127.0.0.1:0', '--http-listen', '0.0.0.0:0', '--upstream', `127.0.0.1:${up.port}`];
    const noOptIn = await runToExit(args, { ...BASE_ENV, OPENSANDBOX_EGRESS_TOKEN: 'tok' });
    expect(noOptIn.code).toBe(1);
    expect(noOptIn.stderr).toContain('egress sidecar did not start: refusing to serve the policy API and metrics on non-loopback address 0.0.0.0');
    expect(noOptIn.stderr).toContain('OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true');
    const noToken = await runToExit(args, { ...BASE_ENV, OTEL_CONTRACTS_ALLOW_NON_LOOPBACK: 'true' });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('egress sidecar did not start: --http-listen 0.0.0.0:0 is beyond loopback without OPENSANDBOX_EGRESS_TOKEN');
    expect(noToken.stderr).toContain('set OPENSANDBOX_EGRESS_TOKEN');
  });

  it('serves --http-listen beyond loopback with the opt-in and a token, the policy API guarded by the token', async () => {
    const s = await spawnSidecar(['--dns-listen', '127.0.0.1:0', '--http-listen', '0.0.0.0:0', '--upstream', `127.0.0.1:${up.port}`], {
      ...BASE_ENV,
      OTEL_CONTRACTS_ALLOW_NON_LOOPBACK: 'true',
      OPENSANDBOX_EGRESS_TOKEN: 'tok',
    });
    try {
      expect(s.ready.policy).toBe(`http://0.0.0.0:${s.httpPort}/policy`);
      const base = `http://127.0.0.1:${s.httpPort}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/policy`)).status).toBe(401);
      expect((await fetch(`${base}/policy`, { headers: { 'OPENSANDBOX-EGRESS-AUTH': 'tok' } })).status).toBe(200);
      expect((await scrape(`${base}/metrics`)).samples.length).toBeGreaterThan(0);
      expect(addresses(await udpQuery(s.dnsPort, query('wide.example.test')))).toEqual(['192.0.2.1']);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  it('prints its flags with --help and exits 0', async () => {
    const { code, stdout } = await runNode('egress sidecar --help', [MAIN, '--help'], BASE_ENV, 15_000);
    expect(code).toBe(0);
    expect(stdout).toContain('--dns-listen');
    expect(stdout).toContain('--upstream');
  });
});
