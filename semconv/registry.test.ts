import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { componentContracts, processContract, self } from './index.ts';
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

  it('the checked-in generated contracts equal what the YAML loads to, seedless ones included', () => {
    const loaded = new Map(loadRegistryDir().map((c) => [c.id, c]));
    const checkedIn = [...Object.values(componentContracts), self, processContract];
    expect([...loaded.keys()].sort()).toEqual(checkedIn.map((c) => c.id).sort());
    for (const c of checkedIn) expect(loaded.get(c.id)).toEqual(c);
  });
});

describe('contracts without a seed say what they follow instead', () => {
  // Only the five component contracts are compared with seed text (above and in seed-labels.test.ts). The
  // others have no seed to compare with, so nothing here pretends one: each states `seed: none` and why.
  it('exactly self and process are seedless, and neither is a component contract the check applies', () => {
    const seedless = loadRegistryDir().filter((c) => c.seed === 'none').map((c) => c.id).sort();
    expect(seedless).toEqual(['process', 'self']);
    for (const id of seedless) expect(Object.keys(componentContracts)).not.toContain(id);
    for (const c of Object.values(componentContracts)) expect(c.seed).toMatch(/^\d{3}_[0-9a-f]{16}\.txt$/);
  });

  it('process: the six standard families of the Prometheus client libraries, each note citing that convention', () => {
    // Names, types and HELP as prom-client (lib/metrics/) and client_golang define them.
    const expected: [string, string, string, string][] = [
      ['process_cpu_seconds_total', 'counter', 's', 'Total user and system CPU time spent in seconds.'],
      ['process_resident_memory_bytes', 'gauge', 'By', 'Resident memory size in bytes.'],
      ['process_virtual_memory_bytes', 'gauge', 'By', 'Virtual memory size in bytes.'],
      ['process_start_time_seconds', 'gauge', 's', 'Start time of the process since unix epoch in seconds.'],
      ['process_open_fds', 'gauge', '1', 'Number of open file descriptors.'],
      ['process_max_fds', 'gauge', '1', 'Maximum number of open file descriptors.'],
    ];
    expect(processContract.families.map((f) => [f.name, f.type, f.unit, f.help])).toEqual(expected);
    for (const f of processContract.families as readonly FamilySpec[]) expect(f.labels, f.name).toEqual([]);
    const text = readFileSync(join(REGISTRY_DIR, 'process.yaml'), 'utf8');
    expect(text).toMatch(/^ {10}seed: none$/m);
    const notes = [...text.matchAll(/\n {4}note: "(.*)"\n/g)].map((m) => m[1]);
    expect(notes).toHaveLength(expected.length);
    for (const n of notes) expect(n).toContain('Prometheus client-library convention (writing_clientlibs#process-metrics');
  });

  it('prom-client, the reference Node client library, defines the same six names and HELP texts', () => {
    const dir = join(REGISTRY_DIR, '..', 'node_modules', 'prom-client', 'lib', 'metrics');
    const source = ['processCpuTotal.js', 'osMemoryHeapLinux.js', 'processStartTime.js', 'processOpenFileDescriptors.js', 'processMaxFileDescriptors.js']
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    for (const f of processContract.families) {
      expect(source, f.name).toContain(`'${f.name}'`);
      expect(source, f.name).toContain(`help: '${f.help}'`);
    }
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
    expect(e.path).toBe('/groups/2/instrument');
    expect(e.message).toMatch(/^semconv\/broken\.yaml:\d+ \/groups\/2\/instrument: must be one of counter, updowncounter, gauge, histogram$/);
  });

  it('a name outside the prefix', () => {
    const e = loadError(broken('metric_name: opensandbox_egress_policy_updates_total', 'metric_name: egress_policy_updates_total'));
    expect(e.path).toBe('/groups/3/metric_name');
    expect(e.problem).toContain('does not start with the prefix "opensandbox_egress_"');
  });

  it('an unknown field', () => {
    const e = loadError(broken('    unit: s\n', '    unit: s\n    colour: blue\n'));
    expect(e.problem).toBe('unknown field "colour"');
  });

  it('an unbounded label without a cardinality limit', () => {
    const e = loadError(broken('{ label: domain, cardinality_limit: 200 }', '{ label: domain }'));
    expect(e.path).toBe('/groups/0/attributes/5');
    expect(e.problem).toContain('needs a cardinality_limit');
  });

  it('buckets that do not increase', () => {
    const e = loadError(broken('default_buckets: [0.005, 0.01,', 'default_buckets: [0.01, 0.005,'));
    expect(e.path).toBe('/groups/0/annotations/otel_contracts/contract/default_buckets/1');
  });

  it('a duplicate family', () => {
    const e = loadError(broken('metric_name: opensandbox_egress_policy_updates_total', 'metric_name: opensandbox_egress_dns_queries_total'));
    expect(e.problem).toBe('duplicate family "opensandbox_egress_dns_queries_total"');
  });

  it('YAML syntax errors give the line', () => {
    const e = loadError('groups: [\n  - a: b\n');
    expect(e.message).toMatch(/^semconv\/broken\.yaml:\d+ \/: YAML syntax/);
  });
});
