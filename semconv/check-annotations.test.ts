import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { componentContracts, processContract, self, trc } from './index.ts';
import { SEEDS_DIR } from './test/seed-names.ts';
import type { ContractSpec, FamilySpec } from './types.ts';

// What the registry records for the compliance check (components/check/), against the seed documents: each seed's
// title and the sections findings cite, the families' requirement levels, TYPE alternatives and trc components,
// the labels tied to another family, and a budget for every open-ended label. Every quote is the seed's own words.

const contracts = componentContracts as Record<string, ContractSpec>;
const seedOf = (c: ContractSpec): string => readFileSync(join(SEEDS_DIR, c.seed), 'utf8');

describe('each seed document: its title and the sections findings cite', () => {
  it.each(Object.entries(contracts))('%s: the title is its first heading; every cited section is a heading or a named part of it', (_id, c) => {
    const text = seedOf(c);
    expect(text.split('\n')[0]).toBe(`# ${c.seedReference?.title}`);
    const sections = Object.values(c.seedReference?.sections ?? {});
    expect(sections.length).toBeGreaterThan(0);
    for (const section of sections) {
      // "Label conventions and cardinality rules / Forbidden labels", "Compliance tests 3 and 4", "X (what it says)"
      for (const part of section.replace(/ \(.*\)$/, '').replace(/ \d+( and \d+)?$/, '').split(' / ')) expect(text, section).toContain(part);
    }
  });

  it('the trc seed states the date the registry records for it, having no commit', () => {
    expect(seedOf(trc)).toContain(`Last reviewed: ${trc.seedReference.date}`);
    expect(trc.seedReference).not.toHaveProperty('commit');
  });
});

describe('requirement levels quote their seeds', () => {
  const required = Object.values(contracts).flatMap((c) => c.families.filter((f): f is FamilySpec & Required<Pick<FamilySpec, 'requirement'>> => f.requirement !== undefined).map((f) => [c.id, f.name, c, f] as const));

  it.each(required)('%s %s', (_id, _name, c, f) => {
    expect(seedOf(c)).toContain(f.requirement.quote);
  });

  it('the levels: egress section 5 optional and section 3 tied to dns+nft; trc commands, rebuilds, snapshots and backups conditional; the ops-proxy listening side tied to its role', () => {
    const levels = required.map(([id, name, , f]) => `${id} ${name} ${f.requirement.level}`);
    const sectionNames = (c: ContractSpec, prefix: string) => c.families.filter((f) => f.section.startsWith(prefix)).map((f) => f.name);
    const ops = contracts['ops-proxy'] as ContractSpec;
    expect(levels.sort()).toEqual(
      [
        ...sectionNames(componentContracts.egress, '3. ').map((n) => `egress ${n} tied`),
        ...sectionNames(componentContracts.egress, '5. ').map((n) => `egress ${n} optional`),
        'ops-proxy ops_proxy_client_info conditional',
        ...ops.families.filter((f) => f.name !== 'ops_proxy_client_info').map((f) => `ops-proxy ${f.name} tied`),
        ...['trc_commands_total', 'trc_command_duration_seconds', 'trc_projection_rebuilds_total', ...sectionNames(trc, 'E) Node agent / Snapshots and backups')].map((n) => `trc ${n} conditional`),
      ].sort(),
    );
    // Every family of a section whose heading says "(optional)" or "(if ...)" carries its requirement.
    for (const c of Object.values(contracts)) {
      for (const f of c.families) if (/\((optional|if |.*listening peer side)/.test(f.section)) expect(f.requirement, `${c.id} ${f.name}`).toBeDefined();
    }
  });
});

describe('TYPE alternatives are the seed\'s "X / Y" types', () => {
  it('every family whose catalogue row gives two TYPEs accepts both, and no other family has alternatives', () => {
    const rows = Object.values(contracts).flatMap((c) =>
      [...seedOf(c).matchAll(/^\| `([a-z_:]+)` \| ([A-Za-z]+(?: \/ [A-Za-z]+)+) \|/gm)].map((m) => `${m[1]} ${m[2]!.toLowerCase().split(' / ').join(',')}`),
    );
    const annotated = Object.values(contracts).flatMap((c) => c.families.filter((f) => f.acceptedTypes).map((f) => `${f.name} ${f.acceptedTypes!.join(',')}`));
    expect(annotated).toEqual(rows);
    expect(annotated).toEqual(['opensandbox_egress_dns_forward_duration_seconds histogram,summary']);
  });
});

describe('labels tied to another family quote their seeds', () => {
  it('ops-proxy client_name: names that ops_proxy_client_up reports, on every family that has the label', () => {
    const ops = contracts['ops-proxy'] as ContractSpec;
    const tied = ops.families.flatMap((f) => f.labels.filter((l) => l.valuesFrom).map((l) => [f.name, l.name, l.valuesFrom!] as const));
    expect(tied.map(([f]) => f)).toEqual(ops.families.filter((f) => f.labels.some((l) => l.name === 'client_name')).map((f) => f.name));
    for (const [, label, from] of tied) {
      expect(label).toBe('client_name');
      expect(from.family).toBe('ops_proxy_client_up');
      expect(from.placeholders).toEqual(['<unknown>']);
      expect(seedOf(ops)).toContain(from.quote);
    }
    for (const c of Object.values(contracts)) if (c !== ops) for (const f of c.families) expect(f.labels.filter((l) => l.valuesFrom), f.name).toEqual([]);
  });
});

describe('budgets', () => {
  const all: ContractSpec[] = [...Object.values(contracts), self, processContract];

  it.each(all.map((c) => [c.id, c] as const))('%s: every open-ended label has a budget (a family label\'s cardinality_limit, an instance label\'s per target)', (_id, c) => {
    for (const f of c.families) for (const l of f.labels) expect(l.values !== undefined || l.cardinalityLimit !== undefined, `${f.name} ${l.name}`).toBe(true);
    for (const l of c.instanceLabels) expect(l.cardinalityLimit, `${c.id} ${l.name}`).toBeGreaterThan(0);
  });

  it('instance labels are one per checked target, each quoting where its seed names it', () => {
    const instance = Object.values(contracts).flatMap((c) => c.instanceLabels.map((l) => [c, l] as const));
    expect(instance.map(([c, l]) => `${c.id} ${l.name} ${l.cardinalityLimit}`)).toEqual(['egress instance_id 1', 'ops-proxy node 1', 'ops-proxy pod 1', 'trc node_id 1']);
    for (const [c, l] of instance) expect(seedOf(c), `${c.id} ${l.name}`).toContain(l.quote);
  });
});

describe('trc components', () => {
  it('cover all 68 trc families exactly once, one component per section letter of "Required metrics by component"', () => {
    expect(trc.families).toHaveLength(68);
    const byLetter = new Map<string, Set<string>>();
    for (const f of trc.families as readonly FamilySpec[]) {
      expect(f.component, f.name).toMatch(/^[a-z-]+$/);
      const letter = /^([A-Z])\) /.exec(f.section)?.[1] as string;
      byLetter.set(letter, (byLetter.get(letter) ?? new Set()).add(f.component as string));
    }
    expect(Object.fromEntries([...byLetter].map(([l, names]) => [l, [...names]]))).toEqual({
      A: ['control-plane'],
      B: ['control-plane'],
      C: ['projections'],
      D: ['scheduler'],
      E: ['agent'],
      F: ['edge'],
    });
    const text = seedOf(trc);
    expect(text).toContain('## Required metrics by component');
    for (const letter of byLetter.keys()) expect(text).toMatch(new RegExp(`^## ${letter}\\) `, 'm'));
  });

  it('no other contract names components', () => {
    const others: ContractSpec[] = [...Object.values(contracts), self, processContract].filter((c) => c !== trc);
    for (const c of others) expect(c.families.filter((f) => f.component !== undefined), c.id).toEqual([]);
  });
});
