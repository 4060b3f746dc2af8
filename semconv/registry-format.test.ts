import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { componentContracts } from './index.ts';
import { loadManifest, loadRegistryDetails, loadRegistryDir, MANIFEST_FILE, parseRegistry, RegistryError, REGISTRY_DIR } from './load.ts';
import { seedLabels } from './test/seed-labels.ts';
import { SEEDS_DIR } from './test/seed-names.ts';
import * as weaver from './test/weaver-format.ts';

// The registries in OTel Weaver's semantic-convention registry format (semconv/README.md): first the files
// themselves against what Weaver v0.25.1 reads (semconv/test/weaver-format.ts, independent of our schema), then
// our schema against the same constraints, then the content the format made us state.

type Obj = Record<string, unknown>;
const files = readdirSync(REGISTRY_DIR).filter((f) => f.endsWith('.yaml') && f !== MANIFEST_FILE).sort();
const registries = files.map((file) => ({ file, doc: parse(readFileSync(join(REGISTRY_DIR, file), 'utf8')) as Obj & { groups: Obj[] } }));
const attributesOf = (g: Obj) => (g.attributes ?? []) as Obj[];
const membersOf = (a: Obj) => (typeof a.type === 'object' && a.type !== null ? ((a.type as Obj).members as Obj[]) : []);

/** Runs `check` on every group, attribute and member of every file; returns the findings it reports. */
function findings(check: (at: string, node: Obj, kind: 'file' | 'group' | 'attribute' | 'member', group: Obj) => string | undefined): string[] {
  const out: string[] = [];
  const report = (x: string | undefined) => x !== undefined && out.push(x);
  for (const { file, doc } of registries) {
    report(check(file, doc, 'file', doc));
    doc.groups.forEach((g, gi) => {
      report(check(`${file} /groups/${gi}`, g, 'group', g));
      attributesOf(g).forEach((a, ai) => {
        report(check(`${file} /groups/${gi}/attributes/${ai}`, a, 'attribute', g));
        membersOf(a).forEach((m, mi) => report(check(`${file} /groups/${gi}/attributes/${ai}/type/members/${mi}`, m, 'member', g)));
      });
    });
  }
  return out;
}

describe('every registry file is what OTel Weaver v0.25.1 reads without an error or a warning', () => {
  it('the folder has the seven contracts and a manifest', () => {
    expect(files).toEqual(['egress.yaml', 'masque-vpn.yaml', 'ops-proxy.yaml', 'podtrace.yaml', 'process.yaml', 'self.yaml', 'trc.yaml']);
    expect(readdirSync(REGISTRY_DIR)).toContain(MANIFEST_FILE);
  });

  it('no key outside the format: in the file, a group, an attribute (definition or reference) or an enum member', () => {
    const allowed = { file: weaver.FILE_KEYS, group: weaver.GROUP_KEYS, member: weaver.MEMBER_KEYS };
    const outside = findings((at, node, kind) => {
      const keys = kind === 'attribute' ? ('ref' in node ? weaver.ATTRIBUTE_REF_KEYS : weaver.ATTRIBUTE_DEFINITION_KEYS) : allowed[kind];
      const extra = weaver.keysOutside(node, keys);
      return extra.length ? `${at}: ${extra.join(', ')}` : undefined;
    });
    expect(outside).toEqual([]);
    // And ours lives in one annotation key, so it never meets another tool's annotations.
    const annotationKeys = findings((at, node) => {
      const keys = node.annotations ? Object.keys(node.annotations as Obj) : [];
      return keys.some((k) => k !== 'otel_contracts') ? `${at}: ${keys.join(', ')}` : undefined;
    });
    expect(annotationKeys).toEqual([]);
  });

  it('stability on every group, attribute definition and enum member, and never deprecated', () => {
    const missing = findings((at, node, kind) => {
      if (kind === 'file' || (kind === 'attribute' && 'ref' in node)) return undefined;
      return weaver.STABILITY.has(node.stability as string) ? undefined : `${at}: stability ${String(node.stability)}`;
    });
    expect(missing).toEqual([]);
  });

  it('examples, of the attribute\'s type, on every string attribute', () => {
    const missing = findings((at, node, kind) => {
      if (kind !== 'attribute' || node.type !== 'string') return undefined;
      const ex = node.examples;
      const ok = Array.isArray(ex) ? ex.length > 0 && ex.every((e) => typeof e === 'string') : typeof ex === 'string';
      return ok ? undefined : `${at}: examples ${JSON.stringify(ex)}`;
    });
    expect(missing).toEqual([]);
    expect(findings((at, node, kind) => (kind === 'attribute' && node.type === 'string' ? at : undefined)).length).toBe(19);
  });

  it('groups of known types; a metric names its metric_name, instrument and unit; other groups have attributes; every definition a brief', () => {
    const bad = findings((at, node, kind) => {
      if (kind === 'group') {
        if (!weaver.GROUP_TYPES.has(node.type as string)) return `${at}: type ${String(node.type)}`;
        if (typeof node.brief !== 'string') return `${at}: no brief`;
        if (node.type === 'metric') return ['metric_name', 'instrument', 'unit'].every((k) => typeof node[k] === 'string') ? undefined : `${at}: metric without metric_name, instrument or unit`;
        return attributesOf(node).length || node.extends ? undefined : `${at}: neither attributes nor extends`;
      }
      if (kind === 'attribute' && !('ref' in node)) {
        const type = node.type;
        const typed = typeof type === 'string' ? weaver.PRIMITIVE_TYPES.has(type) : membersOf(node).length > 0;
        if (!typed) return `${at}: type ${JSON.stringify(type)}`;
        if (typeof node.brief !== 'string') return `${at}: no brief`;
      }
      if (kind === 'attribute' && node.requirement_level !== undefined && !weaver.REQUIREMENT_LEVELS.has(node.requirement_level as string)) return `${at}: requirement_level`;
      return undefined;
    });
    expect(bad).toEqual([]);
  });

  it('valid ids: group ids, metric names, attribute keys and member ids in Weaver\'s name format; attribute keys namespaced', () => {
    const bad = findings((at, node, kind) => {
      const ids: [string, unknown][] = [];
      if (kind === 'group') ids.push(['id', node.id]);
      if (kind === 'group' && node.type === 'metric') ids.push(['metric_name', node.metric_name]);
      if (kind === 'attribute') ids.push(['attribute', node.ref ?? node.id]);
      if (kind === 'member') ids.push(['member', node.id]);
      const wrong = ids.filter(([, id]) => typeof id !== 'string' || !weaver.NAME_REGEX.test(id));
      if (wrong.length) return `${at}: ${wrong.map(([k, id]) => `${k} ${String(id)}`).join(', ')}`;
      if (kind === 'attribute' && !String(node.ref ?? node.id).includes('.')) return `${at}: attribute key without a namespace`;
      return undefined;
    });
    expect(bad).toEqual([]);
  });

  it('attributes are defined in the registry group only (no ref there: registry_with_ref_attr) and referenced from the metric groups', () => {
    const bad = findings((at, node, kind, group) => {
      if (kind !== 'attribute') return undefined;
      const inRegistry = String(group.id).startsWith('registry.');
      if (inRegistry && 'ref' in node) return `${at}: ref in a registry group`;
      if (!inRegistry && !('ref' in node)) return `${at}: definition in a metric group`;
      return undefined;
    });
    expect(bad).toEqual([]);
    for (const { file, doc } of registries) {
      const defined = new Set(doc.groups.flatMap((g) => attributesOf(g).flatMap((a) => (a.id ? [a.id as string] : []))));
      const referenced = doc.groups.flatMap((g) => attributesOf(g).flatMap((a) => (a.ref ? [a.ref as string] : [])));
      expect(referenced.filter((r) => !defined.has(r)), file).toEqual([]);
    }
  });

  it('one registry across the folder: no group id, metric name or attribute id twice, no attribute key another\'s namespace', () => {
    const all = (pick: (g: Obj) => unknown[]) => registries.flatMap(({ doc }) => doc.groups.flatMap(pick)) as string[];
    const twice = (xs: string[]) => xs.filter((x, i) => xs.indexOf(x) !== i);
    const attributeIds = all((g) => attributesOf(g).flatMap((a) => (a.id ? [a.id] : [])));
    expect(twice(all((g) => [g.id]))).toEqual([]);
    expect(twice(all((g) => (g.metric_name ? [g.metric_name] : [])))).toEqual([]);
    expect(twice(attributeIds)).toEqual([]);
    const ids = new Set(attributeIds);
    expect(attributeIds.flatMap((id) => weaver.namespacesOf(id).filter((ns) => ids.has(ns)).map((ns) => `${id} under ${ns}`))).toEqual([]);
  });

  it('the manifest has only manifest keys, and schema_url is schema_base_url + semconv_version', () => {
    const raw = parse(readFileSync(join(REGISTRY_DIR, MANIFEST_FILE), 'utf8')) as Obj;
    expect(weaver.keysOutside(raw, weaver.MANIFEST_KEYS)).toEqual([]);
    const m = loadManifest();
    expect(m.schema_url).toBe(`${m.schema_base_url}${m.semconv_version}`);
    expect(m.schema_url).toMatch(/^https:\/\/[^/]+\/.+\/\d+\.\d+\.\d+$/);
  });
});

describe('registry.schema.json holds Weaver\'s constraints', () => {
  const schema = JSON.parse(readFileSync(join(REGISTRY_DIR, 'registry.schema.json'), 'utf8')) as Obj & { properties: Obj; definitions: Record<string, Obj> };
  const def = (name: string) => schema.definitions[name] as Obj & { properties: Obj };

  it('admits no key Weaver does not: every object it describes is closed, with properties Weaver knows', () => {
    const closed: [string, Obj & { properties: Obj }, ReadonlySet<string>][] = [
      ['file', schema, weaver.FILE_KEYS],
      ['registryGroup', def('registryGroup'), weaver.GROUP_KEYS],
      ['metricGroup', def('metricGroup'), weaver.GROUP_KEYS],
      ['attributeDefinition', def('attributeDefinition'), weaver.ATTRIBUTE_DEFINITION_KEYS],
      ['attributeRef', def('attributeRef'), weaver.ATTRIBUTE_REF_KEYS],
      ['enum member', ((def('enumType').properties.members as Obj).items as Obj & { properties: Obj }), weaver.MEMBER_KEYS],
      ['manifest', def('manifest'), weaver.MANIFEST_KEYS],
    ];
    for (const [name, s, keys] of closed) {
      expect(s.additionalProperties, name).toBe(false);
      expect(weaver.keysOutside(s.properties, keys), name).toEqual([]);
    }
    expect(new Set(def('stability').enum as string[])).toEqual(weaver.STABILITY);
  });

  const egress = readFileSync(join(REGISTRY_DIR, 'egress.yaml'), 'utf8');
  const edit = (from: string | RegExp, to: string, text = egress) => {
    expect(text).toMatch(from);
    return text.replace(from, to);
  };
  const refused = (text: string): RegistryError => {
    try {
      parseRegistry(text, 'semconv/edited.yaml');
    } catch (e) {
      if (e instanceof RegistryError) return e;
      throw e;
    }
    throw new Error('expected a RegistryError');
  };
  const at = (e: RegistryError) => [e.path, e.problem];

  it('refuses a top-level key, and a group key, outside the format (the old contract:, section:)', () => {
    expect(at(refused(`contract: egress\n${egress}`))).toEqual(['', 'unknown field "contract"']);
    expect(at(refused(edit('    annotations:\n      otel_contracts:\n        section: "1. DNS', '    section: x\n    annotations:\n      otel_contracts:\n        section: "1. DNS')))).toEqual(['/groups/1', 'unknown field "section"']);
    expect(at(refused(edit('    stability: development\n    brief: "Labels', '    stability: development\n    colour: blue\n    brief: "Labels')))).toEqual(['/groups/0', 'unknown field "colour"']);
  });

  it('refuses an attribute key outside the format (the old cardinality_limit:), and an annotation key other than ours', () => {
    const e = refused(edit('        examples: [api.github.com, pypi.org]\n', '        examples: [api.github.com, pypi.org]\n        cardinality_limit: 200\n'));
    expect(at(e)).toEqual(['/groups/0/attributes/5', 'unknown field "cardinality_limit"']);
    expect(at(refused(edit('annotations: { otel_contracts: { label: mode } }', 'annotations: { otel_contract: { label: mode } }')))).toEqual(['/groups/0/attributes/3/annotations', 'unknown field "otel_contract"']);
    expect(at(refused(edit('{ id: deny, value: deny, stability: development }', '{ id: deny, value: deny, stability: development, colour: red }')))).toEqual(['/groups/0/attributes/2/type/members/1', 'unknown field "colour"']);
  });

  it('requires stability on groups, attribute definitions and enum members, and refuses deprecated', () => {
    expect(at(refused(edit('    unit: s\n    stability: development\n', '    unit: s\n')))).toEqual(['/groups/2', 'missing field "stability"']);
    expect(at(refused(edit('        stability: development\n        brief: Outcome of the query.', '        brief: Outcome of the query.')))).toEqual(['/groups/0/attributes/1', 'missing field "stability"']);
    expect(at(refused(edit('{ id: allow, value: allow, stability: development }', '{ id: allow, value: allow }')))).toEqual(['/groups/0/attributes/2/type/members/0', 'missing field "stability"']);
    expect(refused(edit('    unit: s\n    stability: development\n', '    unit: s\n    stability: deprecated\n')).problem).toBe('must be one of stable, development, alpha, beta, release_candidate');
  });

  it('requires examples on a string attribute', () => {
    expect(at(refused(edit('        examples: [api.github.com, pypi.org]\n', '')))).toEqual(['/groups/0/attributes/5', 'missing field "examples"']);
    expect(refused(edit('examples: [api.github.com, pypi.org]', 'examples: [1]')).path).toBe('/groups/0/attributes/5/examples/0');
  });

  it('refuses ids outside Weaver\'s name format, and attribute keys without a namespace', () => {
    for (const id of ['Opensandbox_egress.mode', 'opensandbox-egress.mode', 'opensandbox_egress..mode', 'mode']) {
      expect(refused(edit('- id: opensandbox_egress.mode\n', `- id: ${id}\n`)).path, id).toBe('/groups/0/attributes/3/id');
    }
    expect(refused(edit('- ref: opensandbox_egress.mode\n', '- ref: mode\n')).path).toBe('/groups/5/attributes/0/ref');
    expect(refused(edit('id: metric.opensandbox_egress.info\n', 'id: metric.opensandbox_egress.Info\n')).path).toBe('/groups/10/id');
    expect(refused(edit('metric_name: opensandbox_egress_info\n', 'metric_name: opensandbox_egress_Info\n')).path).toBe('/groups/10/metric_name');
    expect(refused(edit('{ id: dns_nft, value: dns+nft, stability: development, brief: DNS + nftables }', '{ id: dns+nft, value: dns+nft, stability: development }')).path).toBe('/groups/0/attributes/3/type/members/1/id');
  });

  it('refuses a definition in a metric group, a ref in the registry group, and a second attribute_group', () => {
    expect(refused(edit('      - ref: opensandbox_egress.mode\n', '      - id: opensandbox_egress.mode\n')).path).toBe('/groups/5/attributes/0');
    expect(refused(edit('      - id: opensandbox_egress.mode\n', '      - ref: opensandbox_egress.mode\n')).path).toBe('/groups/0/attributes/3');
    expect(refused(edit('    type: metric\n    metric_name: opensandbox_egress_info\n', '    type: attribute_group\n    metric_name: opensandbox_egress_info\n')).problem).toBe('must be "metric"');
  });

  it('puts the contract on the first group, and only there', () => {
    expect(at(refused(edit(/ {6}otel_contracts:\n {8}contract:\n(?: {10}.*\n)+/, '      otel_contracts: {}\n')))).toEqual(['/groups/0/annotations/otel_contracts', 'missing field "contract"']);
    // process.yaml, whose families have no labels, carries it on its first metric group; a copy on its last is refused.
    const processText = readFileSync(join(REGISTRY_DIR, 'process.yaml'), 'utf8');
    const block = /\n {8}# The contract rides.*\n( {8}contract:\n(?: {10}.*\n)+)/.exec(processText)?.[1] ?? '';
    expect(block).toContain('seed: none');
    const twice = edit(/( {6}otel_contracts:\n)( {8}section: "Prometheus client-library process metrics"\n)$/, `$1${block}$2`, processText);
    expect(at(refused(twice))).toEqual(['/groups/5/annotations/otel_contracts/contract', 'the contract annotation belongs on the first group only']);
  });
});

describe('what the loader adds to the schema: namespaces, references and labels', () => {
  const egress = readFileSync(join(REGISTRY_DIR, 'egress.yaml'), 'utf8');
  const problem = (text: string): string => {
    try {
      parseRegistry(text, 'semconv/edited.yaml');
    } catch (e) {
      if (e instanceof RegistryError) return `${e.path}: ${e.problem}`;
      throw e;
    }
    return 'loaded';
  };

  it('an attribute outside the contract\'s namespace', () => {
    expect(problem(egress.replaceAll('opensandbox_egress.mode', 'egress.mode'))).toBe(
      '/groups/0/attributes/3/id: "egress.mode" is outside the contract\'s namespace "opensandbox_egress." (the prefix without its trailing underscore)',
    );
  });

  it('an attribute key used as another\'s namespace (Weaver\'s illegal_namespace)', () => {
    expect(problem(egress.replaceAll('opensandbox_egress.dns_queries.result', 'opensandbox_egress.mode.result'))).toBe(
      '/groups/0/attributes/1/id: "opensandbox_egress.mode.result" uses the attribute "opensandbox_egress.mode" as its namespace',
    );
  });

  it('a label that is not the id\'s last segment, a reference to nothing, a definition no family uses', () => {
    expect(problem(egress.replace('{ label: mode }', '{ label: enforcement }'))).toBe(
      '/groups/0/attributes/3/annotations/otel_contracts/label: the label "enforcement" must be the last segment of the id "opensandbox_egress.mode"',
    );
    expect(problem(egress.replace('- ref: opensandbox_egress.mode\n', '- ref: opensandbox_egress.modes\n'))).toBe(
      '/groups/5/attributes/0/ref: no attribute "opensandbox_egress.modes" is defined in the registry.opensandbox_egress group',
    );
    expect(problem(egress.replace(/ {4}attributes:\n {6}- ref: opensandbox_egress\.mode\n(?: {8}.*\n)+/, ''))).toBe(
      '/groups/0/attributes/3: attribute "opensandbox_egress.mode" is on no family; reference it from a family, or remove it',
    );
  });

  it('an instance label referenced from a family, or given a cardinality limit', () => {
    expect(problem(egress.replace('- ref: opensandbox_egress.mode\n', '- ref: opensandbox_egress.instance_id\n'))).toBe(
      '/groups/5/attributes/0/ref: "instance_id" is an instance label; it is put on every family already',
    );
    expect(problem(egress.replace('            label: instance_id\n', '            label: instance_id\n            cardinality_limit: 4\n'))).toBe(
      '/groups/0/attributes/0/annotations/otel_contracts/cardinality_limit: an instance label\'s budget is instance.cardinality_limit (values per checked target); remove this one',
    );
  });

  it('what the check reads: an instance label without its budget, a tie without its condition or on what the contract lacks', () => {
    expect(problem(egress.replace('              fallback: hostname\n              cardinality_limit: 1\n', '              fallback: hostname\n'))).toBe(
      '/groups/0/attributes/0/annotations/otel_contracts/instance: missing field "cardinality_limit"',
    );
    const when = '          when: { family: opensandbox_egress_enforcement_mode, labels: { mode: "dns+nft" }, value: 1 }\n';
    expect(egress).toContain(when);
    expect(problem(egress.replace(when, ''))).toBe('/groups/6/annotations/otel_contracts/requirement: missing field "when"');
    expect(problem(egress.replace(when, when.replace('"dns+nft"', '"nft"')))).toBe(
      '/groups/6/annotations/otel_contracts/requirement/when/labels/mode: "nft" is not a value of "mode" (dns, dns+nft)',
    );
    expect(problem(egress.replace(when, when.replace('enforcement_mode,', 'enforcement_modes,')))).toBe(
      '/groups/6/annotations/otel_contracts/requirement/when/family: no family "opensandbox_egress_enforcement_modes" in this contract',
    );
    expect(problem(egress.replace('  level: tied\n', '  level: conditional\n'))).toBe(
      '/groups/6/annotations/otel_contracts/requirement/when: only a tied requirement has a condition; this one is conditional',
    );
    const ops = readFileSync(join(REGISTRY_DIR, 'ops-proxy.yaml'), 'utf8');
    expect(problem(ops.replace('other_role_marker: ops_proxy_client_info', 'other_role_marker: ops_proxy_server_info'))).toBe(
      '/groups/1/annotations/otel_contracts/requirement/when/other_role_marker: "ops_proxy_server_info" is itself tied to the role "listening peer"',
    );
  });

  it('what the check reads: accepted types without the family\'s own, a component on some families only, values from a family without the label', () => {
    expect(problem(egress.replace('accepted_types: [histogram, summary]', 'accepted_types: [summary, gauge]'))).toBe(
      '/groups/2/annotations/otel_contracts/accepted_types: must include "histogram", the TYPE of a histogram',
    );
    expect(problem(egress.replace('        section: "1. DNS Proxy (Layer 1)"\n', '        section: "1. DNS Proxy (Layer 1)"\n        component: dns\n'))).toBe(
      '/groups/2/annotations/otel_contracts: a component goes on every family of a contract or on none',
    );
    const ops = readFileSync(join(REGISTRY_DIR, 'ops-proxy.yaml'), 'utf8');
    expect(problem(ops.replace('              family: ops_proxy_client_up\n', '              family: ops_proxy_server_info\n'))).toBe(
      '/groups/0/attributes/2/annotations/otel_contracts/values_from/family: "ops_proxy_server_info" is not a family of this contract that references "ops_proxy.client_name"',
    );
  });

  it('a reference\'s brief and requirement_level are the family\'s own; the definition gives the rest', () => {
    const ops = readFileSync(join(REGISTRY_DIR, 'ops-proxy.yaml'), 'utf8');
    const from = 'metric_name: ops_proxy_requests_failed_total\n';
    const rest = ops.slice(ops.indexOf(from));
    const edited = ops.replace(rest, rest.replace('      - ref: ops_proxy.protocol\n        requirement_level: required\n', '      - ref: ops_proxy.protocol\n        requirement_level: opt_in\n        brief: Protocol of the failed request.\n'));
    const families = parseRegistry(edited, 'semconv/edited.yaml').families;
    const label = (family: string) => families.find((f) => f.name === family)?.labels.find((l) => l.name === 'protocol');
    expect(label('ops_proxy_requests_failed_total')).toEqual({ name: 'protocol', brief: 'Protocol of the failed request.', required: false, values: ['http', 'https', 'tcp'] });
    expect(label('ops_proxy_requests_success_total')).toEqual({ name: 'protocol', brief: 'Protocol of the proxied request.', required: true, values: ['http', 'https', 'tcp'] });
  });

  it('the folder is one registry: an id defined in two files is refused, naming both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-'));
    try {
      writeFileSync(join(dir, 'a.yaml'), egress);
      writeFileSync(join(dir, 'b.yaml'), egress.replace('id: egress\n', 'id: egress-b\n'));
      expect(() => loadRegistryDir(dir)).toThrow(/b\.yaml:\d+ \/groups\/0\/id: group id "registry\.opensandbox_egress" is also defined in .*a\.yaml; Weaver reads the folder as one registry/);
      writeFileSync(join(dir, 'b.yaml'), readFileSync(join(REGISTRY_DIR, 'self.yaml'), 'utf8'));
      writeFileSync(join(dir, MANIFEST_FILE), readFileSync(join(REGISTRY_DIR, MANIFEST_FILE), 'utf8').replace('schemas/0.1.0', 'schemas/0.2.0'));
      expect(() => loadRegistryDir(dir)).toThrow(/manifest\.yaml:\d+ \/schema_url: must be schema_base_url \+ semconv_version/);
      writeFileSync(join(dir, MANIFEST_FILE), readFileSync(join(REGISTRY_DIR, MANIFEST_FILE), 'utf8'));
      expect(loadRegistryDir(dir).map((c) => c.id)).toEqual(['egress', 'self']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('each contract names its seed document and the revision it was taken from', () => {
  const details = new Map(loadRegistryDetails().map((d) => [d.contract.id, d]));
  const gitBlob = (bytes: Buffer) => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');

  for (const id of Object.keys(componentContracts)) {
    it(`${id}: the file, and a commit or a date; its git blob is the one in docs/seeds/`, () => {
      const d = details.get(id)!;
      expect(d.seed?.file).toBe(d.contract.seed);
      expect(d.seed?.commit ?? d.seed?.date).toBeDefined();
      expect(gitBlob(readFileSync(join(SEEDS_DIR, d.contract.seed)))).toBe(d.seed?.gitBlob);
    });
  }

  it('self and process have none', () => {
    expect(details.get('self')?.seed).toBeUndefined();
    expect(details.get('process')?.seed).toBeUndefined();
  });
});

describe('podtrace\'s file-system type: the reading the registry takes, stated in it', () => {
  const doc = registries.find((r) => r.file === 'podtrace.yaml')!.doc;
  const attr = (id: string) => attributesOf(doc.groups[0]!).find((a) => a.id === id)!;
  const seed = readFileSync(join(SEEDS_DIR, componentContracts.podtrace.seed), 'utf8');
  const gauge = componentContracts.podtrace.families.find((f) => f.name === 'podtrace_fs_latency_seconds_gauge')!;

  it('takes the family\'s own "(write/fsync)" over the global event type, quoting both from the seed', () => {
    const reading = ((attr('podtrace.fs_latency_seconds_gauge.type').annotations as Obj).otel_contracts as Obj).document_reading as { takes: string; over: string; adds: string[] };
    expect(seed).toContain(reading.takes);
    expect(seed).toContain(reading.over);
    expect(seed).toContain('All metrics are labeled with:\n- `type`: Event type (NET, DNS, FS, CPU)');
    expect(reading.takes).toContain('(write/fsync)');
    expect(gauge.labels.find((l) => l.name === 'type')?.values).toEqual(['write', 'fsync', 'read']);
    // The families that list `type` without values of their own keep the event type.
    const hist = componentContracts.podtrace.families.find((f) => f.name === 'podtrace_fs_latency_seconds_histogram')!;
    expect(hist.labels.find((l) => l.name === 'type')?.values).toEqual(['NET', 'DNS', 'FS', 'CPU']);
  });

  it('adds read, which the seed never lists for type, and says so on the member and in the note', () => {
    const a = attr('podtrace.fs_latency_seconds_gauge.type');
    const reading = ((a.annotations as Obj).otel_contracts as Obj).document_reading as { adds: string[] };
    const listed = seedLabels.podtrace!().get('podtrace_fs_latency_seconds_gauge')?.get('type')?.members ?? [];
    expect(listed).toEqual(['write', 'fsync']);
    expect(reading.adds).toEqual(gauge.labels.find((l) => l.name === 'type')!.values!.filter((v) => !listed.includes(v)));
    expect(membersOf(a).find((m) => m.value === 'read')?.note).toMatch(/not in the document/i);
    expect(a.note).toContain('Updated: On each file system operation');
    expect(seed).toContain('Updated: On each file system operation');
    expect(seed).toContain('Source: File read/write/fsync operations');
  });
});
