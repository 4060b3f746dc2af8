import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthoritative, type Authoritative } from './testing/authoritative.ts';
import { runNode } from '../../test/processes.ts';
import { MAIN, spawnSidecar } from './testing/child.ts';
import { scrape, total } from '../../test/exposition.ts';
import { addresses, query, udpQuery } from './testing/dns-client.ts';

// The sidecar as `npm start` runs it: a child process, its log lines, its exit, its OTLP push.

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

  it('prints its flags with --help and exits 0', async () => {
    const { code, stdout } = await runNode('egress sidecar --help', [MAIN, '--help'], BASE_ENV, 15_000);
    expect(code).toBe(0);
    expect(stdout).toContain('--dns-listen');
    expect(stdout).toContain('--upstream');
  });
});
