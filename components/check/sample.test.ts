import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../test/ports.ts';
import { CLI, startNode, stopAllProcesses } from '../../test/processes.ts';
import { check } from './test/written.ts';

// SIGTERM: the sample's exit handlers run a bounded final push.
afterEach(() => stopAllProcesses());

/** Starts `otel-contracts sample --contract all` and resolves with its "sample serving" log line (it has `scrape` or `push`). */
async function startSample(args: string[], env: Record<string, string>): Promise<{ log: Record<string, unknown> }> {
  const p = startNode('sample --contract all', [CLI, 'sample', '--contract', 'all', ...args], { OTEL_CONTRACTS_EXIT_TIMEOUT_MS: '1000', ...env });
  const line = await p.waitForLine(/"msg":"sample serving/, { stream: 'stderr' });
  return { log: JSON.parse(line.input as string) as Record<string, unknown> };
}

describe('our own sample output is clean', () => {
  it('check <sample scrape URL> --contract all exits 0', async () => {
    const { log } = await startSample(['--listen', '127.0.0.1:0'], {});
    const url = log.scrape as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const out = await check(undefined, { target: url, contract: 'all' });
    expect(out.json.violations).toEqual([]);
    expect(out.code).toBe(0);
    const contracts = out.json.contracts as { id: string; documented: number; present: number }[];
    expect(contracts.map((c) => c.id)).toEqual(['egress', 'ops-proxy', 'trc', 'podtrace', 'masque-vpn']);
    for (const c of contracts) expect(c.present).toBe(c.documented);

    const table = await check(undefined, { target: url, contract: 'all', json: false });
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('OK: no violations');
    expect(table.stdout).toContain('trc: 68/68 documented families present');
  });

  it('a real OTLP push from sample is received by --otlp-listen and checked clean', async () => {
    const port = await freePort();
    const { log } = await startSample([], {
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_METRIC_EXPORT_INTERVAL: '500',
    });
    expect(log.push).toBe(`http://127.0.0.1:${port}/v1/metrics`);
    const out = await check(undefined, { otlpListen: `127.0.0.1:${port}`, duration: 3, contract: 'all' });
    expect(out.stderr).toBe('');
    expect(out.json.violations).toEqual([]);
    expect(out.code).toBe(0);
    const source = out.json.source as { kind: string; pushes: number; metrics: number };
    expect(source.kind).toBe('otlp');
    expect(source.pushes).toBeGreaterThanOrEqual(1);
    const contracts = out.json.contracts as { id: string; documented: number; present: number }[];
    for (const c of contracts) expect(c.present).toBe(c.documented);
  });
});
