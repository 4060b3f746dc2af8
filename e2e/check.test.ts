/**
 * `otel-contracts check` against our own components, as processes: `sample --contract all` passes
 * every contract, the egress sidecar (what `npm start` runs) passes the egress contract, and an
 * unchanged node:http app under the preload passes the podtrace contract.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../test/poll.ts';
import { freePort, freeTcpUdpPort } from '../test/ports.ts';
import { CLI, REPO_ROOT, runNode, startNode, stopAllProcesses, type TestProcess } from '../test/processes.ts';

const SIDECAR = join(REPO_ROOT, 'components', 'egress-sidecar', 'main.ts');
const HTTP_APP = join(REPO_ROOT, 'preload', 'fixtures', 'http-app.cjs');

afterAll(() => stopAllProcesses());

async function waitServing(p: TestProcess, url: string): Promise<void> {
  await pollUntil(
    `${p.name} to serve ${url}`,
    async () => {
      if (p.exitInfo()) throw new Error('exited');
      return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).status;
    },
    (status) => status === 200,
    { timeoutMs: 30_000, describe: (s) => `HTTP ${s}\n${p.describe()}` },
  );
}

async function check(url: string, contract: string): Promise<void> {
  const r = await runNode(`check ${url} --contract ${contract}`, [CLI, 'check', url, '--contract', contract], {}, 60_000);
  expect(r.code, r.describe).toBe(0);
  expect(r.stdout, r.describe).toMatch(/no violations/);
}

describe('otel-contracts check against our components', () => {
  it('passes `sample --contract all` for every contract (exit 0)', async () => {
    const listen = `127.0.0.1:${await freePort()}`;
    const sample = startNode('sample --contract all', [CLI, 'sample', '--contract', 'all', '--listen', listen]);
    const url = `http://${listen}/metrics`;
    await waitServing(sample, url);
    await check(url, 'all');
  });

  it('passes the egress sidecar for the egress contract (exit 0)', async () => {
    const http = `127.0.0.1:${await freePort()}`;
    const sidecar = startNode('egress sidecar', [
      SIDECAR,
      '--dns-listen',
      `127.0.0.1:${await freeTcpUdpPort()}`,
      '--http-listen',
      http,
      // Nothing answers there; the check needs /metrics, not resolution.
      '--upstream',
      `127.0.0.1:${await freeTcpUdpPort()}`,
      '--mode',
      'dns',
    ]);
    const url = `http://${http}/metrics`;
    await waitServing(sidecar, url);
    await check(url, 'egress');
  });

  it('passes an unchanged node:http app under the preload for the podtrace contract (exit 0)', async () => {
    const port = await freePort();
    const app = startNode('http app with --import otel-contracts/register', ['--import', 'otel-contracts/register', HTTP_APP], {
      OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
    });
    const url = `http://127.0.0.1:${port}/metrics`;
    await waitServing(app, url);
    await check(url, 'podtrace');
  });
});
