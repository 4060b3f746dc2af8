import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { componentContracts } from './index.ts';
import { loadRegistryDir, parseRegistry, RegistryError, REGISTRY_DIR } from './load.ts';
import { seedFamilyNames } from './test/seed-names.ts';
import type { FamilySpec, LabelSpec } from './types.ts';

const expectedCounts: Record<string, number> = { egress: 11, 'ops-proxy': 22, trc: 68, podtrace: 16, 'masque-vpn': 19 };
const PROM_DEFAULT = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

describe('registries hold every documented family, no more and no fewer', () => {
  for (const [id, contract] of Object.entries(componentContracts)) {
    it(`${id}: the seed's ${expectedCounts[id]} families, by exact name`, () => {
      const fromSeed = seedFamilyNames[id]!();
      expect(fromSeed).toHaveLength(expectedCounts[id]!);
      expect(contract.families.map((f) => f.name).sort()).toEqual(fromSeed);
    });
  }

  it('136 documented families in all', () => {
    expect(Object.values(componentContracts).reduce((n, c) => n + c.families.length, 0)).toBe(136);
  });

  it('the checked-in generated contracts equal what the YAML loads to', () => {
    const loaded = new Map(loadRegistryDir().map((c) => [c.id, c]));
    for (const c of Object.values(componentContracts)) expect(loaded.get(c.id)).toEqual(c);
  });
});

describe('types, buckets and labels follow the documents', () => {
  const family = (id: keyof typeof componentContracts, name: string): FamilySpec => {
    const f = (componentContracts[id].families as readonly FamilySpec[]).find((x) => x.name === name);
    if (!f) throw new Error(`no family ${name}`);
    return f;
  };

  it('counters without _total and gauges ending in _total keep their documented types', () => {
    expect(family('masque-vpn', 'masque_vpn_total_connections').type).toBe('counter');
    expect(family('masque-vpn', 'masque_vpn_server_uptime_seconds').type).toBe('counter');
    expect(family('ops-proxy', 'ops_proxy_clients_total').type).toBe('gauge');
    expect(family('trc', 'trc_edge_backends_active_total').type).toBe('gauge');
  });

  it('"Histogram / Summary" is a histogram with Prometheus default buckets', () => {
    const f = family('egress', 'opensandbox_egress_dns_forward_duration_seconds');
    expect(f.type).toBe('histogram');
    expect(f.buckets).toEqual(PROM_DEFAULT);
    expect(family('trc', 'trc_http_request_duration_seconds').buckets).toEqual(PROM_DEFAULT);
  });

  it('podtrace histograms use 0.0001 * 2^i for i = 0..19', () => {
    const expected = Array.from({ length: 20 }, (_, i) => Number((0.0001 * 2 ** i).toPrecision(6)));
    for (const f of (componentContracts.podtrace.families as readonly FamilySpec[]).filter((x) => x.type === 'histogram')) {
      expect(f.buckets?.map((b) => Number(b.toPrecision(6)))).toEqual(expected);
    }
  });

  it("masque histograms use the document's own buckets", () => {
    expect(family('masque-vpn', 'masque_vpn_packet_processing_duration_seconds').buckets).toEqual([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1]);
    expect(family('masque-vpn', 'masque_vpn_quic_stream_duration_seconds').buckets).toEqual([1, 5, 10, 30, 60, 300, 600, 1800, 3600]);
  });

  it('bounded labels are enums; unbounded ones carry a cardinality limit', () => {
    expect(family('egress', 'opensandbox_egress_dns_queries_total').labels[0]?.values).toEqual(['allowed', 'denied', 'forward_error']);
    expect(family('trc', 'trc_scheduler_unschedulable_total').labels[0]?.values).toEqual([
      'no_capacity_memory', 'no_nodes_active', 'volume_locality_no_node', 'ipam_exhausted', 'secrets_missing', 'org_quota_exceeded',
    ]);
    expect(family('trc', 'trc_agent_instance_failures_total').labels[0]?.values).toHaveLength(10);
    for (const c of Object.values(componentContracts)) {
      for (const f of c.families as readonly FamilySpec[]) for (const l of f.labels as readonly LabelSpec[]) expect(Boolean(l.values) !== Boolean(l.cardinalityLimit), `${f.name}{${l.name}}`).toBe(true);
    }
  });

  it('instance labels: egress instance_id, ops-proxy node and pod', () => {
    expect(componentContracts.egress.instanceLabels.map((l) => [l.name, l.env])).toEqual([['instance_id', 'OPENSANDBOX_EGRESS_INSTANCE_ID']]);
    expect(componentContracts['ops-proxy'].instanceLabels.map((l) => [l.name, l.env])).toEqual([['node', 'NODE_NAME'], ['pod', 'POD_NAME']]);
  });

  it('trc carries its forbidden-label list', () => {
    expect(componentContracts.trc.forbiddenLabels.map((f) => f.id)).toEqual(
      expect.arrayContaining(['raw_hostname', 'full_url', 'instance_id', 'user_identity', 'error_message', 'idempotency_key', 'secret']),
    );
  });
});

describe('a registry that does not validate fails at load, naming file, line, path and problem', () => {
  const egressText = readFileSync(join(REGISTRY_DIR, 'egress.yaml'), 'utf8');
  const broken = (from: string, to: string) => {
    expect(egressText).toContain(from);
    return egressText.replace(from, to);
  };
  const loadError = (text: string): RegistryError => {
    try {
      parseRegistry(text, 'semconv/broken.yaml');
    } catch (e) {
      if (e instanceof RegistryError) return e;
      throw e;
    }
    throw new Error('expected a RegistryError');
  };

  it('an unknown instrument', () => {
    const e = loadError(broken('instrument: histogram', 'instrument: summary'));
    expect(e.file).toBe('semconv/broken.yaml');
    expect(e.path).toBe('/groups/1/instrument');
    expect(e.message).toMatch(/^semconv\/broken\.yaml:\d+ \/groups\/1\/instrument: must be one of counter, updowncounter, gauge, histogram$/);
  });

  it('a name outside the prefix', () => {
    const e = loadError(broken('metric_name: opensandbox_egress_policy_updates_total', 'metric_name: egress_policy_updates_total'));
    expect(e.path).toBe('/groups/2/metric_name');
    expect(e.problem).toContain('does not start with the prefix "opensandbox_egress_"');
  });

  it('an unknown field', () => {
    const e = loadError(broken('    unit: s\n', '    unit: s\n    colour: blue\n'));
    expect(e.problem).toBe('unknown field "colour"');
  });

  it('an unbounded label without a cardinality limit', () => {
    const e = loadError(broken('        cardinality_limit: 200\n', ''));
    expect(e.path).toBe('/groups/6/attributes/0');
    expect(e.problem).toContain('needs a cardinality_limit');
  });

  it('buckets that do not increase', () => {
    const e = loadError(broken('default_buckets: [0.005, 0.01,', 'default_buckets: [0.01, 0.005,'));
    expect(e.path).toBe('/default_buckets/1');
  });

  it('a duplicate family', () => {
    const e = loadError(broken('metric_name: opensandbox_egress_policy_updates_total', 'metric_name: opensandbox_egress_dns_queries_total'));
    expect(e.problem).toBe('duplicate family "opensandbox_egress_dns_queries_total"');
  });

  it('YAML syntax errors give the line', () => {
    const e = loadError('contract: x\ngroups: [\n  - a: b\n');
    expect(e.message).toMatch(/^semconv\/broken\.yaml:\d+ \/: YAML syntax/);
  });
});
