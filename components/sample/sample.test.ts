/**
 * `otel-contracts sample` in-process, on the component kit: `--listen` parsed by the kit's host:port parser,
 * the loopback guard on what it yields, the process families beside the contracts', and a stop that
 * closes the scrape endpoint.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { egress, podtrace } from '../../semconv/index.ts';
import { readExposition, scrape } from '../../test/exposition.ts';
import { HostPortError } from '../kit/host-port.ts';
import { NonLoopbackBindError } from '../../instrumentation/scrape/server.ts';
import { runSample, type Sample } from './sample.ts';

const env = { OTEL_CONTRACTS_LOG_LEVEL: 'silent', OTEL_METRICS_EXPORTER: 'prometheus', OPENSANDBOX_EGRESS_INSTANCE_ID: 'sbx-1' };
let running: Sample[] = [];
afterEach(async () => {
  await Promise.all(running.map((s) => s.close()));
  running = [];
});
async function start(opts: Omit<Parameters<typeof runSample>[0], 'env'>): Promise<Sample> {
  const s = await runSample({ ...opts, env });
  running.push(s);
  return s;
}

describe('otel-contracts sample', () => {
  it('serves every family of the chosen contracts and the process families on --listen (port 0: the kernel chooses)', async () => {
    const s = await start({ contracts: [egress, podtrace], listen: '127.0.0.1:0' });
    expect(s.scrapeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(s.scrapeUrl).not.toContain(':0/');
    const { text } = await scrape(s.scrapeUrl as string);
    const { samples } = readExposition(text);
    for (const f of [...egress.families, ...podtrace.families]) expect(samples.some((x) => x.family === f.name), f.name).toBe(true);
    expect(samples.find((x) => x.name === 'process_resident_memory_bytes')?.value).toBeGreaterThan(0);
  });

  it('--listen [::1]:0 listens on IPv6 loopback', async () => {
    const s = await start({ contracts: [egress], listen: '[::1]:0' });
    expect(s.scrapeUrl).toMatch(/^http:\/\/\[::1\]:\d+\/metrics$/);
    expect((await scrape(s.scrapeUrl as string)).text).toContain('opensandbox_egress_dns_queries_total');
  });

  it('--listen :PORT means every interface: refused without --allow-non-loopback, served with it', async () => {
    await expect(runSample({ contracts: [egress], listen: ':0', env })).rejects.toThrow(NonLoopbackBindError);
    const s = await start({ contracts: [egress], listen: ':0', allowNonLoopback: true });
    expect(s.scrapeUrl).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/metrics$/);
    const port = new URL(s.scrapeUrl as string).port;
    expect((await scrape(`http://127.0.0.1:${port}/metrics`)).text).toContain('opensandbox_egress_dns_queries_total');
  });

  it('a --listen that is not HOST:PORT, or names a host instead of an address, is refused naming the flag', async () => {
    for (const bad of ['9464', 'localhost', '127.0.0.1:99999', 'metrics.example:9464']) {
      await expect(runSample({ contracts: [egress], listen: bad, env }), bad).rejects.toThrow(HostPortError);
      await expect(runSample({ contracts: [egress], listen: bad, env }), bad).rejects.toThrow(/^--listen /);
    }
  });

  it('close() stops serving', async () => {
    const s = await start({ contracts: [egress], listen: '127.0.0.1:0' });
    await s.close();
    await expect(scrape(s.scrapeUrl as string)).rejects.toThrow();
  });
});
