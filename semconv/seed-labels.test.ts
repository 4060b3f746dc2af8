import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { componentContracts } from './index.ts';
import { instanceLabelsOf } from './instance-scope.ts';
import { parseRegistry, RegistryError, REGISTRY_DIR } from './load.ts';
import { compareWithSeed } from './test/seed-compare.ts';
import { seedLabels, trcAllowedBoundedLabels } from './test/seed-labels.ts';
import type { ContractSpec, FamilySpec, LabelSpec } from './types.ts';

// Every family's label keys (required or optional) and every enum member the seed text lists, compared
// with the registries; the seed is parsed from its own layout, never from the registry.

const values = (c: ContractSpec, family: string, label: string): readonly string[] | undefined =>
  c.families.find((f) => f.name === family)?.labels.find((l) => l.name === label)?.values;

/** A deep copy of a contract whose family `family` lost label `label` (or one member of it). */
function without(c: ContractSpec, family: string, label: string, member?: string): ContractSpec {
  const copy = structuredClone(c) as { families: (FamilySpec & { labels: LabelSpec[] })[] } & ContractSpec;
  const f = copy.families.find((x) => x.name === family);
  if (!f) throw new Error(`no family ${family}`);
  const i = f.labels.findIndex((l) => l.name === label);
  if (i < 0) throw new Error(`no label ${label} on ${family}`);
  if (member === undefined) f.labels.splice(i, 1);
  else f.labels[i] = { ...(f.labels[i] as LabelSpec), values: (f.labels[i] as LabelSpec).values?.filter((v) => v !== member) };
  return copy;
}

describe('registries hold every label and enum member their seed lists', () => {
  for (const [id, contract] of Object.entries(componentContracts)) {
    it(`${id}: label keys and members equal the seed's, family by family`, () => {
      const seed = seedLabels[id]!();
      expect(seed.size).toBe(contract.families.length);
      expect(compareWithSeed(contract, seed)).toEqual([]);
    });
  }

  it('the seed parser reads labels, members and Optional from each layout', () => {
    const egress = seedLabels.egress!();
    expect(egress.get('opensandbox_egress_policy_rule_count')?.get('default_action')).toEqual({ members: ['allow', 'deny'], optional: true });
    expect([...(egress.get('opensandbox_egress_info')?.keys() ?? [])]).toEqual(['instance_id', 'enforcement_mode', 'version']);
    expect(seedLabels['ops-proxy']!().get('ops_proxy_proxy_errors_total')?.get('reason')?.members).toEqual(['no_client', 'forward_write_error', 'data_timeout', 'data_io_error']);
    const trc = seedLabels.trc!();
    expect([...(trc.get('trc_projection_lag_events')?.keys() ?? [])]).toEqual(['projection']);
    expect(trc.get('trc_agent_instance_failures_total')?.get('reason')?.members).toHaveLength(10);
    expect(trc.get('trc_edge_sni_sniffs_total')?.get('result')?.members).toEqual(['ok', 'timeout', 'not_tls', 'no_sni']);
    expect(seedLabels.podtrace!().get('podtrace_fs_latency_seconds_gauge')?.get('type')?.members).toEqual(['write', 'fsync']);
    expect(seedLabels['masque-vpn']!().get('masque_vpn_masque_requests_total')?.get('status')?.members).toEqual(['success', 'failed']);
  });

  it('fails on a registry with one label removed, naming the family and the label', () => {
    const broken = without(componentContracts.trc, 'trc_projection_lag_events', 'projection');
    expect(compareWithSeed(broken, seedLabels.trc!())).toEqual([
      'trc_projection_lag_events: the seed lists label "projection"; the registry does not document it on this family',
    ]);
    // The registry itself is untouched by the copy.
    expect(compareWithSeed(componentContracts.trc, seedLabels.trc!())).toEqual([]);
  });

  it('fails on a registry that lost a label from the YAML text, or one enum member', () => {
    const text = readFileSync(join(REGISTRY_DIR, 'ops-proxy.yaml'), 'utf8');
    const protocol = /\n {6}- ref: ops_proxy\.protocol\n(?: {8}.*\n)+/.exec(text.slice(text.indexOf('metric_name: ops_proxy_requests_total')));
    expect(protocol).not.toBeNull();
    const edited = text.replace(text.slice(text.indexOf('metric_name: ops_proxy_requests_total')), (rest) => rest.replace(protocol![0], '\n'));
    let reparsed: ContractSpec;
    try {
      reparsed = parseRegistry(edited, 'semconv/ops-proxy.yaml');
    } catch (e) {
      throw e instanceof RegistryError ? new Error(`the edited registry should still load: ${e.message}`) : e;
    }
    expect(compareWithSeed(reparsed, seedLabels['ops-proxy']!())).toEqual([
      'ops_proxy_requests_total: the seed lists label "protocol"; the registry does not document it on this family',
    ]);
    const lostMember = without(componentContracts.trc, 'trc_scheduler_unschedulable_total', 'reason', 'ipam_exhausted');
    expect(compareWithSeed(lostMember, seedLabels.trc!())).toEqual([
      'trc_scheduler_unschedulable_total{reason}: the seed lists member "ipam_exhausted"; the registry\'s members are no_capacity_memory, no_nodes_active, volume_locality_no_node, secrets_missing, org_quota_exceeded',
    ]);
  });

  it('the five projection families carry the documented projection label', () => {
    for (const name of ['trc_projection_last_applied_event_id', 'trc_projection_lag_events', 'trc_projection_apply_duration_seconds', 'trc_projection_errors_total', 'trc_projection_rebuilds_total']) {
      const f = (componentContracts.trc.families as readonly FamilySpec[]).find((x) => x.name === name);
      expect(f?.labels.map((l) => [l.name, l.required, l.cardinalityLimit]), name).toEqual([['projection', true, 32]]);
    }
  });
});

describe('trc node_id: the allowed bounded label on agent and edge families', () => {
  it('is an allowed bounded label of the seed, set from TRC_NODE_ID and left off when unset', () => {
    expect(trcAllowedBoundedLabels()).toContain('node_id');
    expect(componentContracts.trc.instanceLabels).toEqual([
      expect.objectContaining({ name: 'node_id', env: 'TRC_NODE_ID', fallback: 'omit', families: ['trc_agent_', 'trc_edge_'] }),
    ]);
  });

  it('goes on every agent and edge family and on no other', () => {
    const trc = componentContracts.trc;
    const scoped = trc.families.filter((f) => instanceLabelsOf(trc, f.name).some((l) => l.name === 'node_id')).map((f) => f.name);
    expect(scoped).toEqual(trc.families.map((f) => f.name).filter((n) => n.startsWith('trc_agent_') || n.startsWith('trc_edge_')));
    // Exactly the seed's sections E) Node agent (25 families) and F) Edge ingress (12).
    expect(scoped).toEqual(trc.families.filter((f) => /^[EF]\) /.test(f.section)).map((f) => f.name));
    expect(scoped).toHaveLength(37);
    expect(instanceLabelsOf(trc, 'trc_http_requests_total')).toEqual([]);
  });

  it('a scope prefix that matches no family, or lies outside the prefix, is refused at load', () => {
    const text = readFileSync(join(REGISTRY_DIR, 'trc.yaml'), 'utf8');
    expect(text).toContain('families: [trc_agent_, trc_edge_]');
    expect(() => parseRegistry(text.replace('families: [trc_agent_, trc_edge_]', 'families: [trc_agent_, trc_egde_]'), 'semconv/trc.yaml')).toThrow(
      /semconv\/trc\.yaml:\d+ \/groups\/0\/attributes\/0\/annotations\/otel_contracts\/instance\/families\/1: no family name starts with "trc_egde_"/,
    );
    expect(() => parseRegistry(text.replace('families: [trc_agent_, trc_edge_]', 'families: [agent_]'), 'semconv/trc.yaml')).toThrow(
      /\/groups\/0\/attributes\/0\/annotations\/otel_contracts\/instance\/families\/0: "agent_" does not start with the contract prefix "trc_"/,
    );
  });
});

describe('where the seed leaves members open, the contract authors\' own usage (alerts spec)', () => {
  const trc = componentContracts.trc;
  it('result="failed" for token mints, backups and secrets delivery; result="error" for edge config apply', () => {
    // docs/specs/observability/alerts.md: H2, G2, H1 filter on result="failed"; E2 on result="error".
    for (const f of ['trc_auth_token_mints_total', 'trc_agent_backups_total', 'trc_agent_backup_seconds', 'trc_agent_backup_bytes_total', 'trc_agent_secrets_delivery_total', 'trc_agent_secrets_delivery_seconds']) {
      expect(values(trc, f, 'result'), f).toEqual(['success', 'failed']);
    }
    for (const f of ['trc_edge_config_apply_total', 'trc_edge_config_apply_seconds']) expect(values(trc, f, 'result'), f).toEqual(['success', 'error']);
    // H1 pages immediately on this reason.
    expect(values(trc, 'trc_agent_secrets_delivery_total', 'reason')).toContain('master_key_unavailable');
  });

  it('each choice is recorded, with its source, in the registry note', () => {
    const text = readFileSync(join(REGISTRY_DIR, 'trc.yaml'), 'utf8');
    for (const [family, section, value] of [
      ['trc_auth_token_mints_total', 'H2', 'failed'],
      ['trc_agent_backups_total', 'G2', 'failed'],
      ['trc_agent_secrets_delivery_total', 'H1', 'failed'],
      ['trc_edge_config_apply_total', 'E2', 'error'],
    ] as const) {
      const group = text.slice(text.indexOf(`metric_name: ${family}\n`));
      const note = /\n {4}note: "(.*)"\n/.exec(group.slice(0, group.indexOf('\n  - id: ')))?.[1] ?? '';
      expect(note, family).toContain(`docs/specs/observability/alerts.md ${section}`);
      expect(note, family).toContain(`success|${value}`);
    }
  });
});
