import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { startOtlpReceiver, type OtlpReceiver } from './otlp/receiver.ts';
import type { OtlpMetric, OtlpMetricsRequest } from './otlp/decode.ts';
import { componentContracts } from '../semconv/index.ts';
import { startNode, stop, waitFor, type Child } from './test/child.ts';

let receiver: OtlpReceiver | undefined;
let child: Child | undefined;
afterEach(async () => {
  stop(child);
  await receiver?.close();
  receiver = undefined;
  child = undefined;
});

const metricsOf = (reqs: readonly OtlpMetricsRequest[]): OtlpMetric[] =>
  reqs.flatMap((r) => r.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)));

function pushEnv(endpoint: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_METRIC_EXPORT_INTERVAL: '60000',
    OTEL_CONTRACTS_LOG_LEVEL: 'info',
    ...extra,
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('OTLP push', () => {
  it('a process that recorded N measurements and is killed with SIGTERM delivers N in its final push (protobuf)', async () => {
    receiver = await startOtlpReceiver();
    child = startNode(['instrumentation/test/fixtures/record-n.ts'], pushEnv(receiver.endpoint, { RECORD_N: '1234' }));
    await waitFor(child, (c) => c.stdout.includes('ready'));
    expect(receiver.requests).toHaveLength(0); // one export interval has not passed
    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    expect(receiver.requests.length).toBeGreaterThan(0);
    const metrics = metricsOf(receiver.requests);
    const total = metrics.find((m) => m.name === 'masque_vpn_total_connections');
    expect(total?.kind).toBe('sum');
    expect(total?.isMonotonic).toBe(true);
    expect(total?.temporality).toBe('cumulative');
    expect(total?.kind === 'sum' && total.dataPoints[0]?.value).toBe(1234);
    const hist = metrics.find((m) => m.name === 'masque_vpn_packet_processing_duration_seconds');
    expect(hist?.kind).toBe('histogram');
    if (hist?.kind !== 'histogram') throw new Error('not a histogram');
    expect(hist.dataPoints.reduce((n, p) => n + p.count, 0)).toBe(1234);
    expect(hist.dataPoints[0]?.explicitBounds).toEqual([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1]);
    expect(child.stderr).toContain('final push delivered');
  });

  it('the push path sends the same documented names as the scrape, for all 136 families (http/json too)', async () => {
    for (const protocol of ['http/protobuf', 'http/json']) {
      receiver = await startOtlpReceiver();
      child = startNode(['bin/otel-contracts.ts', 'sample', '--contract', 'all'], pushEnv(receiver.endpoint, { OTEL_EXPORTER_OTLP_PROTOCOL: protocol }));
      await waitFor(child, (c) => c.stderr.includes('sample serving'));
      child.proc.kill('SIGTERM');
      expect(await child.exited).toBe(0);
      const sent = new Set(metricsOf(receiver.requests).map((m) => m.name));
      for (const c of Object.values(componentContracts)) for (const f of c.families) expect(sent.has(f.name), `${protocol} ${f.name}`).toBe(true);
      expect([...sent].filter((n) => !n.startsWith('otel_contracts_')).length).toBe(136);
      await receiver.close();
      receiver = undefined;
    }
  });

  it('with the endpoint down, the process exits within the bound and reports the failure; optionally non-zero', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    child = startNode(['instrumentation/test/fixtures/record-n.ts'], pushEnv(endpoint, { OTEL_CONTRACTS_EXIT_TIMEOUT_MS: '2000' }));
    await waitFor(child, (c) => c.stdout.includes('ready'));
    child.proc.kill('SIGTERM');
    const code = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r('still running after the bound'), 2000 + 5000))]);
    expect(code).toBe(0);
    expect(child.stderr).toContain('final push failed');

    child = startNode(['instrumentation/test/fixtures/record-n.ts'], pushEnv(endpoint, { OTEL_CONTRACTS_EXIT_TIMEOUT_MS: '2000', OTEL_CONTRACTS_FAIL_ON_PUSH_ERROR: 'true' }));
    await waitFor(child, (c) => c.stdout.includes('ready'));
    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(1);
  });

  it('an endpoint answering 4xx is a failed push, logged with its reason, and the process keeps serving', async () => {
    const http = await import('node:http');
    const srv = http.createServer((_req, res) => res.writeHead(404).end('no such path'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    try {
      child = startNode(['instrumentation/test/fixtures/record-n.ts'], {
        ...pushEnv(endpoint, { OTEL_METRIC_EXPORT_INTERVAL: '200' }),
        OTEL_METRICS_EXPORTER: 'prometheus,otlp',
        OTEL_EXPORTER_PROMETHEUS_PORT: '0',
      });
      await waitFor(child, (c) => c.stderr.includes('OTLP push failed'));
      expect(child.proc.exitCode).toBeNull();
      child.proc.kill('SIGTERM');
      expect(await child.exited).toBe(0);
      expect(child.stderr).toContain('final push failed');
    } finally {
      srv.close();
    }
  });
});
