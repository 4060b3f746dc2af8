/**
 * `check` on expositions shaped like the upstream implementations': client_golang leaving
 * labelled families out until their first event, the ops proxy's added `namespace` label and raw Host
 * names, masque-vpn renamed to `vpn_server_*` and its upstream buckets, the egress sidecar in dns mode.
 */
import { describe, expect, it } from 'vitest';
import { componentContracts, egress, masqueVpn, opsProxy, podtrace } from '../../semconv/index.ts';
import type { ContractSpec } from '../../semconv/types.ts';
import { check as checkText } from './check-exposition.ts';
import type { CheckResult } from './result.ts';
import { check as runCommand } from './test/written.ts';
import { egressExposition, masqueExposition, opsProxyExposition, podtraceQuietExposition } from './test/upstream.ts';

/** Every finding (violations and allowed ones) cites its own contract's seed document. */
function expectOwnCitations(result: CheckResult): void {
  for (const v of [...result.violations, ...result.allowed]) {
    const contract = (componentContracts as Record<string, ContractSpec>)[v.contract];
    expect(v.cite.document, `${v.rule} ${v.family}`).toBe(contract?.seed);
    expect(v.cite.sections.length).toBeGreaterThan(0);
  }
}

const rules = (r: CheckResult) => r.violations.map((v) => v.rule);

describe('client_golang leaves labelled families out until their first event', () => {
  it('an ops-proxy peer right after start: each absent family is its own "not observed" finding, and passes with allowUnobserved', async () => {
    const text = opsProxyExposition({ quiet: true });
    const strict = await checkText(text, { contracts: [opsProxy] });
    expect(new Set(rules(strict))).toEqual(new Set(['family_not_observed']));
    expect(strict.violations.map((v) => v.family).sort()).toEqual(
      opsProxy.families.filter((f) => f.labels.some((l) => l.name === 'client_name')).map((f) => f.name).sort(),
    );
    expect(strict.violations[0]?.message).toMatch(/labelled: a client may leave it out until its first event/);
    expect(strict.ok).toBe(false);
    expectOwnCitations(strict);

    const allowed = await checkText(text, { contracts: [opsProxy], allowUnobserved: true });
    expect(allowed.violations).toEqual([]);
    expect(allowed.ok).toBe(true);
    expect(allowed.allowed).toHaveLength(strict.violations.length);
  });

  it('a quiet podtrace: 16 not observed, exit 1; with --allow-unobserved exit 0 and the allowed families listed', async () => {
    const strict = await runCommand(podtraceQuietExposition(), { contract: 'podtrace' });
    expect(strict.code).toBe(1);
    expect(strict.json.violations.every((v) => v.rule === 'family_not_observed')).toBe(true);
    expect(strict.json.violations).toHaveLength(podtrace.families.length);
    const text = await runCommand(podtraceQuietExposition(), { contract: 'podtrace', json: false, allowUnobserved: true });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('allowed by --allow-unobserved: family_not_observed (16): podtrace_cpu_block_seconds_gauge');
    expect(text.stdout).toContain('OK: no violations');
    // The families it did not check are named, not only counted.
    expect(text.stdout).toMatch(/not checked, outside the checked contracts \(7\): go_goroutines, .*promhttp_metric_handler_requests_total/);
  });
});

describe('the ops proxy upstream', () => {
  it('an added namespace label on all 22 families is one finding listing the 22 families; node and pod are instance labels', async () => {
    const r = await checkText(opsProxyExposition({ extraLabel: ['namespace', 'ops-system'] }), { contracts: [opsProxy] });
    expect(r.violations).toHaveLength(1);
    const v = r.violations[0]!;
    expect(v).toMatchObject({ rule: 'label_undocumented', contract: 'ops-proxy', label: 'namespace', value: 'ops-system', count: 22 });
    expect(v.families).toEqual(opsProxy.families.map((f) => f.name).sort());
    expect(v.message).toContain("instance labels (node, pod)");
    expect(r.contracts[0]?.instanceLabels).toEqual(['node', 'pod']);
    expectOwnCitations(r);
    expect(v.cite.sections).toContain('Notes');
  });

  it.each([300, 600])('%i raw Host names in client_name on no_client errors are one label_inconsistent finding, never also cardinality', async (hosts) => {
    const r = await checkText(opsProxyExposition({ randomHosts: hosts }), { contracts: [opsProxy] });
    expect(rules(r)).toEqual(['label_inconsistent']);
    const v = r.violations[0]!;
    expect(v).toMatchObject({ label: 'client_name', families: ['ops_proxy_proxy_errors_total'], distinctValues: hosts, count: hosts });
    expect(v.values).toHaveLength(10);
    expect(v.values?.[0]?.series).toMatch(/^ops_proxy_proxy_errors_total\{.*client_name="h[0-9a-z]+\.example\.net",reason="no_client"\}$/);
    expect(v.message).toContain('not names that ops_proxy_client_up reports');
    expect(v.cite).toEqual({ document: '001_873f7e44fd0c3b59.txt', sections: ['Notes'] });
  });

  it('our own placeholder <unknown> for a Host that matches no name is consistent', async () => {
    const text = opsProxyExposition().replace(/client_name="app\.example\.com",reason="forward_write_error"/, 'client_name="<unknown>",reason="no_client"');
    const r = await checkText(text, { contracts: [opsProxy] });
    expect(r.violations).toEqual([]);
  });

  it('a connecting-only peer (ops_proxy_client_info and no listening-side family) is not required to expose the listening side', async () => {
    const text = opsProxyExposition({ connectingOnly: true });
    const r = await checkText(text, { contracts: [opsProxy] });
    expect(r.violations).toEqual([]);
    expect(r.contracts[0]?.notRequired.map((n) => n.level)).toEqual(Array(21).fill('tied'));
  });
});

describe('masque-vpn upstream', () => {
  it('renamed to vpn_server_*: one family_renamed finding naming each documented family and its rename', async () => {
    const out = await runCommand(masqueExposition({ prefix: 'vpn_server_' }), { contract: 'masque-vpn' });
    expect(out.code).toBe(1);
    const v = out.json.violations;
    expect(v.map((x) => x.rule)).toEqual(['family_renamed']);
    expect(v[0]).toMatchObject({ distinctValues: 19, count: 19, hint: expect.stringContaining('likely renamed to') });
    expect(v[0]?.families).toContain('vpn_server_active_connections');
    expect(v[0]?.families).toContain('masque_vpn_active_connections');
    expect(v[0]?.message).toContain('under masque_vpn_ -> vpn_server_');
    const families = out.json.families as { name: string; likelyRenameOf?: string }[];
    expect(families.find((f) => f.name === 'vpn_server_active_connections')?.likelyRenameOf).toBe('masque_vpn_active_connections');
    const table = await runCommand(masqueExposition({ prefix: 'vpn_server_' }), { contract: 'masque-vpn', json: false });
    expect(table.stdout).toContain('vpn_server_active_connections (likely masque_vpn_active_connections)');
    expect(table.stdout).toContain('"masque_vpn_active_connections -> vpn_server_active_connections"');
    // The Go runtime's families are never taken for a rename.
    expect(table.stdout).not.toMatch(/promhttp_metric_handler_requests_total \(likely/);
  });

  it('scraped through a collector with the default translation: masque_vpn_total_connections came out as masque_vpn_connections_total', async () => {
    const text = masqueExposition().replace(/masque_vpn_total_connections/g, 'masque_vpn_connections_total');
    const r = await checkText(text, { contracts: [masqueVpn] });
    expect(rules(r)).toEqual(['family_renamed']);
    expect(r.violations[0]).toMatchObject({ families: ['masque_vpn_connections_total', 'masque_vpn_total_connections'], hint: expect.stringContaining('translation_strategy: UnderscoreEscapingWithoutSuffixes') });
  });

  it("upstream's buckets (0.0001 to 0.1 where the document says 0.001 to 1.0) are one histogram_buckets finding for both families", async () => {
    const r = await checkText(masqueExposition({ fastBuckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1] }), { contracts: [masqueVpn] });
    expect(rules(r)).toEqual(['histogram_buckets']);
    expect(r.violations[0]).toMatchObject({
      families: ['masque_vpn_masque_request_duration_seconds', 'masque_vpn_packet_processing_duration_seconds'],
      value: '[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1]',
      message: expect.stringContaining('instead of the documented [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1]'),
      cite: { document: '004_e230dccd7de229b4.txt', sections: ['Performance Metrics'] },
    });
  });
});

describe('the egress sidecar', () => {
  const NFT = 'opensandbox_egress_nft';
  const OPTIONAL = ['opensandbox_egress_info', 'opensandbox_egress_uptime'];

  it('in dns mode: section 3 (dns+nft mode) and section 5 (optional) are not required when absent, and say why', async () => {
    const r = await checkText(egressExposition({ mode: 'dns', without: [NFT, ...OPTIONAL] }), { contracts: [egress] });
    expect(r.violations).toEqual([]);
    const why = new Map(r.contracts[0]?.notRequired.map((n) => [n.family, n.level]));
    expect(why.get('opensandbox_egress_nft_apply_total')).toBe('tied');
    expect(why.get('opensandbox_egress_info')).toBe('optional');
    expect(r.contracts[0]?.required).toBe(6);
  });

  it('in dns+nft mode: section 3 is required', async () => {
    const r = await checkText(egressExposition({ mode: 'dns+nft', without: [NFT] }), { contracts: [egress] });
    expect(r.violations.map((v) => `${v.rule} ${v.family}`)).toEqual([
      'family_not_observed opensandbox_egress_nft_apply_total',
      'family_not_observed opensandbox_egress_nft_doh_dot_packets_dropped_total',
      'family_not_observed opensandbox_egress_nft_resolved_ips_added_total',
    ]);
    expect(r.violations[0]?.cite).toEqual({ document: '000_1804d0b4eddf39f2.txt', sections: ['3. nftables (Layer 2, dns+nft mode)'] });
  });

  it('optional families are still checked when present: a wrong label on section 5 is reported', async () => {
    const text = egressExposition({ mode: 'dns', without: [NFT] }).replace('enforcement_mode="dns",version="1.0.0"', 'enforcement_mode="nft-only",version="1.0.0"');
    const r = await checkText(text, { contracts: [egress] });
    expect(r.violations.map((v) => `${v.rule} ${v.family} ${v.value}`)).toEqual(['label_value_enum opensandbox_egress_info nft-only']);
  });

  it('"Histogram / Summary" is right as either: the forward duration as a summary passes', async () => {
    const r = await checkText(egressExposition({ mode: 'dns', without: [NFT], forwardDuration: { type: 'summary' } }), { contracts: [egress] });
    expect(r.violations).toEqual([]);
  });

  it('buckets [0.1, 1, 10] instead of the default buckets are caught', async () => {
    const r = await checkText(egressExposition({ mode: 'dns', without: [NFT], forwardDuration: { buckets: [0.1, 1, 10] } }), { contracts: [egress] });
    expect(r.violations.map((v) => `${v.rule} ${v.value}`)).toEqual(['histogram_buckets [0.1, 1, 10]']);
  });

  it('a # UNIT line other than the documented unit is caught (seconds documented, milliseconds declared)', async () => {
    const r = await checkText(egressExposition({ mode: 'dns', without: [NFT], forwardDuration: { unit: 'milliseconds' } }), { contracts: [egress] });
    expect(r.violations.map((v) => `${v.rule} ${v.family} ${v.value}`)).toEqual(['unit_mismatch opensandbox_egress_dns_forward_duration_seconds milliseconds']);
    const ok = await checkText(egressExposition({ mode: 'dns', without: [NFT], forwardDuration: { unit: 'seconds' } }), { contracts: [egress] });
    expect(ok.violations).toEqual([]);
  });

  it('a duration renamed to _milliseconds in a scrape: one family_renamed finding naming the unit', async () => {
    const text = egressExposition({ mode: 'dns', without: [NFT] }).replace(/opensandbox_egress_dns_forward_duration_seconds/g, 'opensandbox_egress_dns_forward_duration_milliseconds');
    const r = await checkText(text, { contracts: [egress] });
    expect(rules(r)).toEqual(['family_renamed']);
    expect(r.violations[0]?.message).toContain('unit "milliseconds" instead of "seconds"');
  });
});

describe('the report names each contract source document and revision', () => {
  it('in the table and in JSON, for every contract', async () => {
    const out = await runCommand(podtraceQuietExposition(), { contract: 'all', json: false, allowUnobserved: true });
    for (const c of Object.values(componentContracts)) expect(out.stdout).toContain(`document ${c.seed} "${c.seedReference.title}"; upstream revision: `);
    // The revision the registry records (contract.seed in semconv/*.yaml), and the text's git blob.
    expect(out.stdout).toContain('upstream revision: docs/specs/observability/metrics.md as of 2025-12-16, no upstream commit known; git blob d5ff606e1d7bdf8759b68bc7ebaddc671e3cf798');
    expect(out.stdout).toContain('the date its "Last reviewed"');
    const json = await runCommand(podtraceQuietExposition(), { contract: 'egress' });
    expect((json.json.contracts as { document: { seed: string; title: string } }[])[0]?.document).toMatchObject({
      seed: '000_1804d0b4eddf39f2.txt',
      title: 'Egress Sidecar Metrics',
      upstreamRevision: 'alibaba/OpenSandbox components/egress/METRIC.md at 93ee89a8 (2026-02-26)',
      gitBlob: '239f1fdb414c229907e38a4f3de74142053a75ca',
    });
  });
});
