/**
 * The check's own rule tables against the seed documents and the registry: every quote is in its seed,
 * every document is pinned by its text's hash, every cited section exists, every family the tables name
 * is documented, and every open-ended label has a budget.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { componentContracts, trc } from '../../../semconv/index.ts';
import type { ContractSpec } from '../../../semconv/types.ts';
import { REPO_ROOT } from '../../../test/processes.ts';
import { CONTRACT_DOCUMENTS } from './documents.ts';
import { FAMILY_REQUIREMENTS } from './family-requirements.ts';
import { INSTANCE_LABEL_BUDGETS, instanceLabelBudget } from './instance-budgets.ts';
import { LABEL_CONSISTENCY } from './label-consistency.ts';
import { inComponent, TRC_COMPONENTS } from './trc-components.ts';
import { TYPE_ALTERNATIVES } from './type-alternatives.ts';

const contracts = componentContracts as Record<string, ContractSpec>;
const seedText = (seed: string): string => readFileSync(join(REPO_ROOT, 'docs', 'seeds', seed), 'utf8');
const seedOf = (contract: string): string => seedText(contracts[contract]?.seed as string);
const familyNames = (contract: string): Set<string> => new Set(contracts[contract]?.families.map((f) => f.name));

describe('documents', () => {
  it.each(Object.entries(CONTRACT_DOCUMENTS))('%s: its seed, title and text hash are the checked-in seed', (id, doc) => {
    expect(doc.seed).toBe(contracts[id]?.seed);
    const text = seedText(doc.seed);
    expect(createHash('sha256').update(text).digest('hex').slice(0, 16)).toBe(doc.sha256);
    expect(text.split('\n')[0]).toBe(`# ${doc.title}`);
  });

  it.each(Object.entries(CONTRACT_DOCUMENTS))('%s: every section it cites is a heading or a named part of its seed', (_id, doc) => {
    const text = seedText(doc.seed);
    for (const section of Object.values(doc.sections)) {
      // "Label conventions and cardinality rules / Forbidden labels", "Compliance tests 3 and 4", "X (what it says)"
      for (const part of section.replace(/ \(.*\)$/, '').replace(/ \d+( and \d+)?$/, '').split(' / ')) expect(text, section).toContain(part);
    }
  });

  it('the trc seed states the revision the table gives', () => {
    expect(seedText(CONTRACT_DOCUMENTS.trc!.seed)).toContain('Last reviewed: 2025-12-16');
  });
});

describe('requirement levels, TYPE alternatives and consistency rules quote their seeds', () => {
  it.each(FAMILY_REQUIREMENTS.map((r) => [r.contract, r.quotes.join(' | '), r] as const))('%s: %s', (contract, _q, r) => {
    for (const q of r.quotes) expect(seedOf(contract)).toContain(q);
    const names = familyNames(contract);
    for (const f of r.families ?? []) expect(names.has(f), f).toBe(true);
    const sections = new Set(contracts[contract]?.families.map((f) => f.section));
    for (const s of r.sections ?? []) expect(sections.has(s), s).toBe(true);
    if (r.when?.kind === 'value') expect(names.has(r.when.family)).toBe(true);
    if (r.when?.kind === 'role') expect(names.has(r.when.marker)).toBe(true);
  });

  it('type alternatives and label consistency rules', () => {
    for (const t of TYPE_ALTERNATIVES) {
      expect(seedOf(t.contract)).toContain(t.quote);
      expect(familyNames(t.contract).has(t.family)).toBe(true);
    }
    for (const c of LABEL_CONSISTENCY) {
      expect(seedOf(c.contract)).toContain(c.quote);
      expect(familyNames(c.contract).has(c.reference)).toBe(true);
      expect(contracts[c.contract]?.families.find((f) => f.name === c.reference)?.labels.map((l) => l.name)).toContain(c.label);
    }
  });

  it('every family the egress seed documents as "Histogram / Summary" has its alternatives', () => {
    const rows = seedOf('egress').split('\n').filter((l) => l.includes('| Histogram / Summary |'));
    expect(rows.map((l) => /`([a-z_]+)`/.exec(l)?.[1])).toEqual(TYPE_ALTERNATIVES.filter((t) => t.contract === 'egress').map((t) => t.family));
  });
});

describe('budgets', () => {
  it.each(Object.keys(contracts))('%s: every open-ended label has a budget (registry cardinality_limit, or the instance-label table)', (id) => {
    const c = contracts[id] as ContractSpec;
    for (const f of c.families) for (const l of f.labels) expect(l.values !== undefined || l.cardinalityLimit !== undefined, `${f.name} ${l.name}`).toBe(true);
    for (const l of c.instanceLabels) expect(instanceLabelBudget(id, l.name), `${id} ${l.name}`).toBeDefined();
  });

  it('instance-label budgets quote their seeds and name instance labels', () => {
    for (const b of INSTANCE_LABEL_BUDGETS) {
      expect(seedOf(b.contract)).toContain(b.quote);
      expect(contracts[b.contract]?.instanceLabels.map((l) => l.name)).toContain(b.label);
    }
  });
});

describe('trc components', () => {
  it('cover every trc family exactly once, by the section letters of "Required metrics by component"', () => {
    for (const f of trc.families) expect(TRC_COMPONENTS.filter((c) => inComponent(c, f.section)).map((c) => c.name), f.name).toHaveLength(1);
    const text = seedOf('trc');
    for (const letter of TRC_COMPONENTS.flatMap((c) => c.sections)) expect(text).toMatch(new RegExp(`^## ${letter}\\) `, 'm'));
  });
});
