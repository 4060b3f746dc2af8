import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, runApp } from '../../preload/testing/harness.ts';
import { find, scrapeUntil, total } from '../../test/exposition.ts';
import { stopAllProcesses } from '../../test/processes.ts';
import { findSs } from './tcp-rtt.ts';

/** The RTT collector needs iproute2's `ss` (CI provisions it); without it, it must say so and stay off. */
const haveSs = findSs() !== undefined;

/** A DNS resolver on loopback answering every A question with 192.0.2.1 (TEST-NET-1). */
async function startResolver(): Promise<{ port: number; queries: string[]; close(): void }> {
  const sock = dgram.createSocket('udp4');
  const queries: string[] = [];
  sock.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const question = q.questions?.[0];
    if (!question) return;
    queries.push(`${question.type} ${question.name}`);
    const answer = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions,
      answers: question.type === 'A' ? [{ type: 'A', name: question.name, ttl: 60, data: '192.0.2.1' }] : [],
    });
    sock.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, queries, close: () => sock.close() };
}

/** A TCP echo server on loopback. */
async function startEcho(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

let resolver: Awaited<ReturnType<typeof startResolver>>;
let echo: Awaited<ReturnType<typeof startEcho>>;
let workDir: string;
beforeAll(async () => {
  resolver = await startResolver();
  echo = await startEcho();
  workDir = mkdtempSync(join(tmpdir(), 'otel-contracts-runtime-'));
});
afterEach(() => stopAllProcesses());
afterAll(() => {
  resolver.close();
  echo.close();
  rmSync(workDir, { recursive: true, force: true });
});

const FAST = { OTEL_CONTRACTS_RTT_INTERVAL_MS: '200', OTEL_CONTRACTS_BYTES_INTERVAL_MS: '200', OTEL_CONTRACTS_CPU_INTERVAL_MS: '200', OTEL_CONTRACTS_PROCESS_NAME: 'runtime-app' };

describe('runtime collectors in a real app', () => {
  it('DNS, TCP connect, RTT, network bytes, FS and CPU block families from real operations', async () => {
    const app = runApp(`${FIXTURES}/runtime-app.cjs`, { ...FAST, DNS_PORT: String(resolver.port), ECHO_PORT: String(echo.port), WORK_DIR: workDir });
    const [, startup] = await Promise.all([app.ready, app.startup]);
    const pn = { process_name: 'runtime-app' };
    const samples = await scrapeUntil(
      startup.scrapeUrl as string,
      'an RTT sample (with ss), 10100 received bytes and a CPU block sample',
      (s) => (!haveSs || total(s, 'podtrace_rtt_seconds_count') >= 1) && total(s, 'podtrace_network_bytes_total', { direction: 'recv' }) >= 10_100 && total(s, 'podtrace_cpu_block_seconds_histogram_count') >= 1,
    );

    // DNS: 3 resolve4 on the default resolver, 1 on a Resolver instance, lookup('localhost') and net.connect's lookup.
    expect(resolver.queries.filter((q) => q.startsWith('A '))).toHaveLength(4);
    expect(total(samples, 'podtrace_dns_latency_seconds_histogram_count', { type: 'DNS', ...pn })).toBe(6);
    expect(find(samples, 'podtrace_dns_latency_seconds_gauge', { type: 'DNS', ...pn })).toHaveLength(1);

    // TCP connect latency: the one client connection.
    expect(total(samples, 'podtrace_latency_seconds_count', { type: 'NET', ...pn })).toBe(1);
    expect(find(samples, 'podtrace_latency_latest_seconds', { type: 'NET', ...pn })[0]?.value).toBeGreaterThan(0);

    // RTT from TCP_INFO of the open connection (and any scrape connection) via ss.
    if (haveSs) {
      expect(total(samples, 'podtrace_rtt_seconds_count', { type: 'NET', ...pn })).toBeGreaterThanOrEqual(1);
      expect(find(samples, 'podtrace_rtt_latest_seconds', { type: 'NET', ...pn })[0]?.value).toBeGreaterThan(0);
    } else {
      expect(app.stderr()).toContain('collector rtt not started');
    }

    // Bytes: 10000 each way over TCP plus 100 each way over UDP, at least (the scrapes add their own).
    expect(total(samples, 'podtrace_network_bytes_total', { type: 'NET', direction: 'send', ...pn })).toBeGreaterThanOrEqual(10_100);
    expect(total(samples, 'podtrace_network_bytes_total', { type: 'NET', direction: 'recv', ...pn })).toBeGreaterThanOrEqual(10_100);

    // FS: exactly the app's writes (our log lines are not counted); reads include the app's own module loading.
    expect(total(samples, 'podtrace_filesystem_bytes_total', { type: 'FS', operation: 'write', ...pn })).toBe(10_596);
    expect(total(samples, 'podtrace_filesystem_bytes_total', { type: 'FS', operation: 'read', ...pn })).toBeGreaterThanOrEqual(7_096);
    for (const op of ['read', 'write', 'fsync']) expect(find(samples, 'podtrace_fs_latency_seconds_gauge', { type: op, ...pn })).toHaveLength(1);
    expect(total(samples, 'podtrace_fs_latency_seconds_histogram_count', { type: 'FS', ...pn })).toBeGreaterThanOrEqual(10);

    // CPU block from schedstat.
    expect(startup.cpuBlockSource).toBe('schedstat');
    expect(total(samples, 'podtrace_cpu_block_seconds_histogram_count', { type: 'CPU', ...pn })).toBeGreaterThanOrEqual(1);
  });

  it('ESM named imports of node:fs are wrapped too', async () => {
    const app = runApp(`${FIXTURES}/esm-fs-app.mjs`, { WORK_DIR: workDir, OTEL_CONTRACTS_PROCESS_NAME: 'esm-app' });
    const [, startup] = await Promise.all([app.ready, app.startup]);
    const samples = await scrapeUntil(startup.scrapeUrl as string, 'a podtrace_filesystem_bytes_total write sample', (s) => find(s, 'podtrace_filesystem_bytes_total', { operation: 'write' }).length > 0);
    expect(total(samples, 'podtrace_filesystem_bytes_total', { operation: 'write', process_name: 'esm-app' })).toBe(1234);
    expect(find(samples, 'podtrace_fs_latency_seconds_gauge', { type: 'fsync' })).toHaveLength(1);
  });

  it('process_name defaults to the process title', async () => {
    const app = runApp(`${FIXTURES}/esm-fs-app.mjs`, { WORK_DIR: workDir });
    const [, startup] = await Promise.all([app.ready, app.startup]);
    const samples = await scrapeUntil(startup.scrapeUrl as string, 'a podtrace_fs_latency_seconds_gauge sample', (s) => find(s, 'podtrace_fs_latency_seconds_gauge').length > 0);
    expect(find(samples, 'podtrace_fs_latency_seconds_gauge')[0]?.labels.process_name).toBe('node');
  });
});
