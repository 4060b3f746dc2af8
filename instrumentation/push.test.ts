import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from '../components/check/otlp/receiver.ts';
import type { OtlpMetric, OtlpMetricsRequest } from '../components/check/otlp/decode.ts';
import { componentContracts } from '../semconv/index.ts';
import { delay } from '../test/poll.ts';
import { freePort } from '../test/ports.ts';
import { startNode, stopAllProcesses } from '../test/processes.ts';

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await stopAllProcesses();
  await receiver?.close();
  receiver = undefined;
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

describe('OTLP push', () => {
  it('a process that recorded N measurements and is killed with SIGTERM delivers N in its final push (protobuf)', async () => {
    receiver = await startOtlpReceiver();
    const app = startNode('record-n', ['instrumentation/fixtures/record-n.ts'], pushEnv(receiver.endpoint, { RECORD_N: '1234' }));
    await app.waitForLine(/ready/);
    expect(receiver.requests).toHaveLength(0); // one export interval has not passed
    app.child.kill('SIGTERM');
    expect((await app.exited).code).toBe(0);
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
    expect(app.stderr()).toContain('final push delivered');
  });

  it('the push path sends the same documented names as the scrape, for all 136 families (http/json too)', async () => {
    for (const protocol of ['http/protobuf', 'http/json']) {
      receiver = await startOtlpReceiver();
      const app = startNode(`sample (${protocol})`, ['bin/otel-contracts.ts', 'sample', '--contract', 'all'], pushEnv(receiver.endpoint, { OTEL_EXPORTER_OTLP_PROTOCOL: protocol }));
      await app.waitForLine(/sample serving/, { stream: 'stderr' });
      app.child.kill('SIGTERM');
      expect((await app.exited).code).toBe(0);
      const sent = new Set(metricsOf(receiver.requests).map((m) => m.name));
      for (const c of Object.values(componentContracts)) for (const f of c.families) expect(sent.has(f.name), `${protocol} ${f.name}`).toBe(true);
      // Beside the self-metrics and the standard process_* families (Prometheus client-library convention), the 136 documented ones.
      expect([...sent].filter((n) => !n.startsWith('otel_contracts_') && !n.startsWith('process_')).length).toBe(136);
      await receiver.close();
      receiver = undefined;
    }
  });

  it('with the endpoint down, the process exits within the bound and reports the failure; optionally non-zero', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`; // bound, then closed: nothing listens there
    const app = startNode('record-n', ['instrumentation/fixtures/record-n.ts'], pushEnv(endpoint, { OTEL_CONTRACTS_EXIT_TIMEOUT_MS: '2000' }));
    await app.waitForLine(/ready/);
    app.child.kill('SIGTERM');
    const code = await Promise.race([app.exited.then((e) => e.code), delay(2000 + 5000).then(() => 'still running after the bound')]);
    expect(code).toBe(0);
    expect(app.stderr()).toContain('final push failed');

    const failing = startNode('record-n (fail on push error)', ['instrumentation/fixtures/record-n.ts'], pushEnv(endpoint, { OTEL_CONTRACTS_EXIT_TIMEOUT_MS: '2000', OTEL_CONTRACTS_FAIL_ON_PUSH_ERROR: 'true' }));
    await failing.waitForLine(/ready/);
    failing.child.kill('SIGTERM');
    expect((await failing.exited).code).toBe(1);
  });

  it('an endpoint answering 4xx is a failed push, logged with its reason, and the process keeps serving', async () => {
    const http = await import('node:http');
    const srv = http.createServer((_req, res) => res.writeHead(404).end('no such path'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    try {
      const app = startNode('record-n', ['instrumentation/fixtures/record-n.ts'], {
        ...pushEnv(endpoint, { OTEL_METRIC_EXPORT_INTERVAL: '200' }),
        OTEL_METRICS_EXPORTER: 'prometheus,otlp',
        OTEL_EXPORTER_PROMETHEUS_PORT: '0',
      });
      await app.waitForLine(/OTLP push failed/, { stream: 'stderr' });
      expect(app.child.exitCode).toBeNull();
      app.child.kill('SIGTERM');
      expect((await app.exited).code).toBe(0);
      expect(app.stderr()).toContain('final push failed');
    } finally {
      srv.close();
    }
  });
});
