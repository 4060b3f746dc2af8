import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { find, scrape, total, type SampleLine } from '../../test/exposition.ts';
import { stopAllProcesses } from '../../test/processes.ts';
import { opsProxy } from '../../semconv/generated/ops-proxy.ts';
import { startEchoBackend, type Backend } from './testing/backends.ts';
import { startPeer, type Peer } from './testing/child.ts';
import { freePort } from '../../test/ports.ts';

// The first scrape after a peer registered, before any traffic: every documented family is there with
// its documented label keys, and every series whose labels are known (each registered name × each
// protocol and reason) is there at 0. The families and their labels come from the generated contract.

let echo: Backend;

beforeAll(async () => {
  echo = await startEchoBackend();
});

afterAll(async () => {
  await stopAllProcesses();
  await echo?.close();
});

const instanceKeys = opsProxy.instanceLabels.map((l) => l.name);
const keysOf = (s: SampleLine) => Object.keys(s.labels).sort();
const documentedKeys = (family: (typeof opsProxy.families)[number]) => [...family.labels.map((l) => l.name), ...instanceKeys].sort();

/** Waits (bounded, through the log) until the connecting side heard `registered`: after that, one scrape. */
async function registered(peer: Peer): Promise<void> {
  await peer.process.waitForLine(/registered with the listening peer/, { stream: 'stderr', timeoutMs: 10_000 });
}

/** Every series of the per-name families for `name` is present at 0. */
function expectZeroSeriesOf(s: SampleLine[], name: string): void {
  for (const family of opsProxy.families) {
    const labels = family.labels.map((l) => l.name);
    if (!labels.includes('client_name') || family.name === 'ops_proxy_client_up' || family.name === 'ops_proxy_client_registrations_total') continue;
    const enumLabel = family.labels.find((l) => 'values' in l);
    const combos = enumLabel && 'values' in enumLabel ? enumLabel.values.map((v) => ({ [enumLabel.name]: v })) : [{}];
    for (const combo of combos) {
      const series = find(s, family.name, { client_name: name, ...combo });
      expect(series, `${family.name}{client_name="${name}",${JSON.stringify(combo)}}`).toHaveLength(1);
      expect(series[0]?.value, family.name).toBe(0);
    }
  }
}

/** Families of the ops-proxy contract in a scrape, each with the label keys its samples carry. */
function familiesIn(s: SampleLine[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const x of s) {
    if (!x.name.startsWith(opsProxy.prefix)) continue;
    if (!out.has(x.name)) out.set(x.name, new Set());
    out.get(x.name)?.add(keysOf(x).join(','));
  }
  return out;
}

describe('ops proxy: the first scrape', () => {
  it('with both roles in one process and a name registered: all 22 families, each with its documented label keys, every known series at 0', async () => {
    const control = await freePort();
    const peer = await startPeer('both roles', [
      '--control', `127.0.0.1:${control}`, '--http', '127.0.0.1:0', '--tcp', 'echo.tcp=127.0.0.1:0', '--metrics', '127.0.0.1:0',
      '--connect', `127.0.0.1:${control}`, '--register', `echo.tcp=127.0.0.1:${echo.port}`, '--register', `app.test=127.0.0.1:${echo.port}`,
    ]);
    await registered(peer);
    const { samples: s } = await scrape(peer.metricsUrl);
    const present = familiesIn(s);
    expect(opsProxy.families).toHaveLength(22);
    for (const family of opsProxy.families) {
      expect(present.has(family.name), `${family.name} in the first scrape`).toBe(true);
      expect([...(present.get(family.name) ?? [])], `${family.name} label keys`).toEqual([documentedKeys(family).join(',')]);
    }
    expect(present.size).toBe(22);
    for (const name of ['echo.tcp', 'app.test']) {
      expectZeroSeriesOf(s, name);
      expect(total(s, 'ops_proxy_client_up', { client_name: name })).toBe(1);
      expect(total(s, 'ops_proxy_client_registrations_total', { client_name: name })).toBe(1);
    }
    expect(total(s, 'ops_proxy_server_info')).toBe(1);
    expect(total(s, 'ops_proxy_client_info')).toBe(1);
    expect(total(s, 'ops_proxy_clients_total')).toBe(2);
    expect(total(s, 'ops_proxy_clients_connected')).toBe(2);
    expect(find(s, 'ops_proxy_pending_data_connections')[0]?.value).toBe(0);
    expect(find(s, 'ops_proxy_data_connections_unexpected_total')[0]?.value).toBe(0);
    expect(await peer.stop()).toBe(0);
  });

  it("of a listening peer: label-less, <unknown> and self series from the start; a name's series when it registers; client_info only on the connecting peer", async () => {
    const listener = await startPeer('listener', ['--control', '127.0.0.1:0', '--tcp', 'echo.tcp=127.0.0.1:0', '--metrics', '127.0.0.1:0']);
    const before = (await scrape(listener.metricsUrl)).samples;
    expect([...familiesIn(before).keys()].sort()).toEqual(
      ['ops_proxy_server_info', 'ops_proxy_clients_total', 'ops_proxy_clients_connected', 'ops_proxy_data_connections_unexpected_total', 'ops_proxy_pending_data_connections',
        'ops_proxy_connections_total', 'ops_proxy_connections_failed_total', 'ops_proxy_requests_total', 'ops_proxy_requests_failed_total', 'ops_proxy_proxy_errors_total'].sort(),
    );
    for (const protocol of ['http', 'https', 'tcp']) {
      expect(find(before, 'ops_proxy_requests_total', { client_name: '<unknown>', protocol })[0]?.value).toBe(0);
      expect(find(before, 'ops_proxy_requests_failed_total', { client_name: '<unknown>', protocol })[0]?.value).toBe(0);
    }
    expect(find(before, 'ops_proxy_proxy_errors_total', { client_name: '<unknown>', reason: 'no_client' })[0]?.value).toBe(0);
    for (const reason of ['unauthenticated_evicted', 'handshake_timeout', 'connection_limit', 'unauthorized', 'malformed']) {
      expect(find(before, 'otel_contracts_connections_refused_total', { reason })[0]?.value, reason).toBe(0);
    }
    for (const outcome of ['refused', 'allowed']) expect(find(before, 'otel_contracts_name_takeovers_total', { outcome })[0]?.value, outcome).toBe(0);

    const connector = await startPeer('connector', ['--connect', `127.0.0.1:${listener.port('control')}`, '--register', `echo.tcp=127.0.0.1:${echo.port}`, '--metrics', '127.0.0.1:0']);
    await registered(connector);
    const after = (await scrape(listener.metricsUrl)).samples;
    const present = familiesIn(after);
    expect(present.size).toBe(21);
    expect(present.has('ops_proxy_client_info')).toBe(false);
    expectZeroSeriesOf(after, 'echo.tcp');
    const c = familiesIn((await scrape(connector.metricsUrl)).samples);
    // The connecting peer: client_info, and no per-name series (the pipeline starts every label-less sum at 0).
    expect(c.has('ops_proxy_client_info')).toBe(true);
    expect(c.has('ops_proxy_server_info')).toBe(false);
    for (const [family, keys] of c) expect([...keys], family).toEqual([instanceKeys.slice().sort().join(',')]);
    expect(await connector.stop()).toBe(0);
    expect(await listener.stop()).toBe(0);
  });
});
