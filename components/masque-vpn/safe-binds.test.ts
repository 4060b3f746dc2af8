import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/ports.ts';
import { NODE_BIN, REPO_ROOT, runNode, startProcess, stopAllProcesses } from '../../test/processes.ts';
import { makeTestPki, type TestPki } from './testing/certs.ts';
import { Namespaces, removeStaleNamespaces, scrapeInNs } from './testing/netns.ts';

// Which addresses the real CLI (`node components/masque-vpn/main.ts server ...`) binds: /metrics only on
// loopback unless OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true; the CONNECT-IP --listen anywhere (it is the
// VPN's public endpoint). The refusal needs no privileges (/metrics is checked before the TUN is
// created); serving beyond loopback runs as root, in network namespaces.

const MAIN = `${REPO_ROOT}/components/masque-vpn/main.ts`;
let pki: TestPki;

beforeAll(() => {
  pki = makeTestPki(['10.202.0.1'], []);
});

afterAll(async () => {
  await stopAllProcesses(5000);
  pki?.remove();
});

const serverArgs = (tun: string, metrics: string) => ['server', '--listen', '0.0.0.0:8443', '--pool', '10.95.0.0/29', '--tun', tun, '--cert', pki.serverCert, '--key', pki.serverKey, '--ca', pki.ca, '--metrics', metrics];

describe('masque-vpn server binds', () => {
  it('--metrics 0.0.0.0:PORT without the opt-in: exit 1 with a message naming OTEL_CONTRACTS_ALLOW_NON_LOOPBACK, before any TUN', async () => {
    const port = await freePort();
    const r = await runNode('masque-vpn server', [MAIN, ...serverArgs('mqbind0', `0.0.0.0:${port}`)], {}, 30_000);
    expect(r.code, r.describe).toBe(1);
    expect(r.stderr).toContain('masque-vpn did not start: refusing to serve metrics on non-loopback address 0.0.0.0');
    expect(r.stderr).toContain('OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true');
    // Refused before the TUN is opened: no TUN error, even without root.
    expect(r.stderr).not.toMatch(/TUN|tun|listening/);
  });

  it('with OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true: /metrics serves on every interface, reached from another host (root)', async () => {
    if (process.getuid?.() !== 0) throw new Error('serving beyond loopback creates network namespaces and a TUN device and needs root');
    await removeStaleNamespaces('mqb');
    const nss = new Namespaces('mqb');
    try {
      const server = await nss.add('s');
      const peer = await nss.add('p');
      await nss.link(server, 'vbs0', '10.202.0.1/24', peer, 'vbp0', '10.202.0.2/24');
      const p = startProcess('masque server', 'ip', ['netns', 'exec', server, NODE_BIN, MAIN, ...serverArgs('mqbind1', '0.0.0.0:8081')], { OTEL_CONTRACTS_ALLOW_NON_LOOPBACK: 'true' });
      await p.waitForLine(/masque-vpn server listening/, { stream: 'stderr', timeoutMs: 20_000 });
      // From the peer namespace, through the veth: not loopback.
      const { samples } = await scrapeInNs(peer, 'http://10.202.0.1:8081/metrics');
      const families = new Set(samples.map((s) => s.family));
      expect(['masque_vpn_active_connections', 'masque_vpn_ip_pool_total', 'masque_vpn_tun_interface_status'].filter((f) => !families.has(f))).toEqual([]);
      expect((await p.stop()).code).toBe(0);
    } finally {
      await nss.removeAll();
    }
  });
});
