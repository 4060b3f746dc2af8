import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT as root } from '../../instrumentation/test/child.ts';
import { freePort } from './test/ports.ts';
import { check } from './test/written.ts';

const node = `${root}node_modules/.bin/node`;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) await stop(c);
});

/** Stops a child with SIGTERM (its exit handlers run a bounded final push) and waits for it. */
async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await exited;
}

/** Starts `otel-contracts sample --contract all` and resolves with its first log line that has `scrape` or `push`. */
async function startSample(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; log: Record<string, unknown> }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
  const child = spawn(node, [`${root}bin/otel-contracts.ts`, 'sample', '--contract', 'all', ...args], {
    cwd: root,
    env: { ...clean, OTEL_CONTRACTS_EXIT_TIMEOUT_MS: '1000', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  const log = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buf = '';
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      buf += d.toString();
      stderr += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const j = JSON.parse(line) as Record<string, unknown>;
          if (typeof j.msg === 'string' && j.msg.startsWith('sample serving')) resolve(j);
        } catch {
          /* not a log line */
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`sample exited with ${code} before serving: ${stderr}`)));
  });
  return { child, log };
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
