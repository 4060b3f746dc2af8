import { readFileSync } from 'node:fs';
import { SEEDS_DIR } from './seed-names.ts';

/**
 * The labels each seed document puts on each family, and the enum members it lists for them, read from
 * the document's own layout (table cells, `{a,b}` selectors, `Labels:` lines, bullet lists), so that
 * the registries are checked against the text, label by label.
 */

/** One documented label of a family as the seed text states it. */
export interface SeedLabel {
  /** The members the text lists for the label (empty when it leaves them open). */
  readonly members: readonly string[];
  /** The text says "Optional" for it. */
  readonly optional: boolean;
}

/** family name -> label name -> what the seed says about it. */
export type SeedLabels = ReadonlyMap<string, ReadonlyMap<string, SeedLabel>>;

function read(file: string): string {
  return readFileSync(`${SEEDS_DIR}${file}`, 'utf8');
}

const backticked = (s: string) => [...s.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);

/** Splits a parenthesised or braced list of plain words: `(cpu, memory, io)`, `(send or recv)`, `(write/fsync)`. */
const words = (s: string) => s.split(/\s*(?:,|\/|\bor\b)\s*/).map((w) => w.trim()).filter((w) => /^[A-Za-z0-9_.+-]+$/.test(w));

function put(out: Map<string, Map<string, SeedLabel>>, family: string, label: string, members: readonly string[] = [], optional = false): void {
  let labels = out.get(family);
  if (!labels) out.set(family, (labels = new Map()));
  const prior = labels.get(label);
  labels.set(label, { members: [...new Set([...(prior?.members ?? []), ...members])], optional: optional || (prior?.optional ?? false) });
}

/**
 * Seed 000 (egress): one table row per family, labels in the last cell. A cell reads `None.`,
 * `` `label`: `a` (…), `b` (…) `` (one label, then its members), `` Optional: `label` (`a` / `b`) `` or
 * a list of labels. `quantile` belongs to the Summary alternative of a "Histogram / Summary", which
 * OTel cannot produce (DESIGN.md: documented "Histogram / Summary" means histogram), so it is not a label here.
 */
function egressLabels(): SeedLabels {
  const out = new Map<string, Map<string, SeedLabel>>();
  for (const m of read('000_1804d0b4eddf39f2.txt').matchAll(/^\| `(opensandbox_egress_[a-z0-9_]+)` \|[^|]*\|[^|]*\| (.*) \|$/gm)) {
    const family = m[1] as string;
    out.set(family, new Map());
    const cell = (m[2] as string).replace(/For Summary, `quantile`;/, '');
    const optional = /^Optional:/.test(cell);
    const head = /^`([a-z_]+)`:\s*(.*)$/.exec(cell);
    if (head) {
      put(out, family, head[1] as string, backticked(head[2] as string), optional);
      continue;
    }
    // Labels outside parentheses; backticked words inside the parentheses right after a label are its members.
    for (const l of cell.matchAll(/`([a-z_]+)`(?:\s*\(([^)]*)\))?/g)) {
      if (isInsideParens(cell, l.index)) continue;
      put(out, family, l[1] as string, backticked(l[2] ?? ''), optional);
    }
  }
  return out;
}

function isInsideParens(text: string, at: number): boolean {
  const before = text.slice(0, at);
  return before.lastIndexOf('(') > before.lastIndexOf(')');
}

/**
 * Seed 001 (ops-proxy): `` - **`name{a,b}`** `` headings; members from "by protocol (`http` / `https` / `tcp`)"
 * and from a "Current reasons:" bullet list, within the family's own paragraph.
 */
function opsProxyLabels(): SeedLabels {
  const out = new Map<string, Map<string, SeedLabel>>();
  const text = read('001_873f7e44fd0c3b59.txt');
  const heads = [...text.matchAll(/^- \*\*`(ops_proxy_[a-z0-9_]+)\{([^}]*)\}`\*\*/gm)];
  heads.forEach((h, i) => {
    const family = h[1] as string;
    out.set(family, new Map());
    for (const l of words(h[2] as string)) put(out, family, l);
    const end = heads[i + 1]?.index ?? text.length;
    const para = text.slice(h.index, end).split(/\n## /)[0] as string;
    for (const m of para.matchAll(/\bby ([a-z_]+) \(((?:`[^`]+`[\s/,]*)+)\)/g)) put(out, family, m[1] as string, backticked(m[2] as string));
    const list = /Current ([a-z_]+)s:\n((?:\s*- `[^`]+`\s*\n?)+)/.exec(para);
    if (list) put(out, family, list[1] as string, backticked(list[2] as string));
  });
  return out;
}

/**
 * Seed 002 (trc), "Required metrics by component": `` - `name{a,b}` `` bullets (histograms as `_bucket`),
 * members from "where result in {ok, …}" on the same line, and from a bullet list of bare values below a
 * family (the scheduler's and the agent's reason lists), which belongs to that family's `reason`.
 */
function trcLabels(): SeedLabels {
  const out = new Map<string, Map<string, SeedLabel>>();
  const text = read('002_319d91f4cc02c0ce.txt');
  const section = text.slice(text.indexOf('## Required metrics by component'), text.indexOf('## Tenant-facing metrics'));
  let lastWithReason: string | undefined;
  for (const line of section.split('\n')) {
    const fam = /^- `(trc_[a-z0-9_]+?)(?:_bucket)?(?:\{([^}]*)\})?`/.exec(line);
    if (fam && !line.includes('is forbidden')) {
      const family = fam[1] as string;
      out.set(family, new Map());
      for (const l of words(fam[2] ?? '')) put(out, family, l);
      const where = /where ([a-z_]+) in \{([^}]*)\}/.exec(line);
      if (where) put(out, family, where[1] as string, words(where[2] as string));
      lastWithReason = out.get(family)?.has('reason') ? family : undefined;
      continue;
    }
    const value = /^- `([a-z0-9_]+)`$/.exec(line);
    if (value && lastWithReason) put(out, lastWithReason, 'reason', [value[1] as string]);
    else if (/^#/.test(line)) lastWithReason = undefined;
  }
  return out;
}

/**
 * A `Labels:` line of seeds 003 and 004: `` `a`, `b` (x, y), `c` (p or q) `` or `None`; the words in the
 * parentheses after a label are its members.
 */
function labelsLine(line: string): [string, string[]][] {
  return [...line.matchAll(/`([a-z_]+)`(?:\s*\(([^)]*)\))?/g)].map((m) => [m[1] as string, words(m[2] ?? '')]);
}

/**
 * Seed 003 (podtrace): `` **`name`** `` headings with a `- Labels:` line. "All metrics are labeled with"
 * gives the members of `type` (NET, DNS, FS, CPU) where a family lists `type` without its own.
 */
function podtraceLabels(): SeedLabels {
  const out = new Map<string, Map<string, SeedLabel>>();
  const text = read('003_d73f844c3a565732.txt');
  const global = /All metrics are labeled with:\n((?:- .*\n)+)/.exec(text)?.[1] ?? '';
  const globalType = words(/`type`: [^(]*\(([^)]*)\)/.exec(global)?.[1] ?? '');
  for (const m of text.matchAll(/^\*\*`(podtrace_[a-z0-9_]+)`\*\*.*\n((?:- .*\n?)+)/gm)) {
    const family = m[1] as string;
    out.set(family, new Map());
    const line = /^- Labels: (.*)$/m.exec(m[2] as string)?.[1] ?? '';
    for (const [l, members] of labelsLine(line)) put(out, family, l, members.length === 0 && l === 'type' ? globalType : members);
  }
  return out;
}

/** Seed 004 (masque-vpn): `### name` headings with a `- **Labels**:` line. */
function masqueLabels(): SeedLabels {
  const out = new Map<string, Map<string, SeedLabel>>();
  const text = read('004_e230dccd7de229b4.txt');
  for (const m of text.matchAll(/^### (masque_vpn_[a-z0-9_]+)\n((?:- .*\n?)+)/gm)) {
    const family = m[1] as string;
    out.set(family, new Map());
    const line = /^- \*\*Labels\*\*: (.*)$/m.exec(m[2] as string)?.[1] ?? '';
    for (const [l, members] of labelsLine(line)) put(out, family, l, members);
  }
  return out;
}

/** The labels of every family of each seed document, by contract id. */
export const seedLabels: Record<string, () => SeedLabels> = {
  egress: egressLabels,
  'ops-proxy': opsProxyLabels,
  trc: trcLabels,
  podtrace: podtraceLabels,
  'masque-vpn': masqueLabels,
};

/**
 * Labels seed 002 lists under "Allowed bounded labels (v1)" (`component`, `node_id`, …), for the labels a
 * trc family may carry beyond the ones its own bullet names.
 */
export function trcAllowedBoundedLabels(): string[] {
  const text = read('002_319d91f4cc02c0ce.txt');
  const block = text.slice(text.indexOf('### Allowed bounded labels'), text.indexOf('### Forbidden labels'));
  return [...block.matchAll(/^- (.*)$/gm)].flatMap((m) => backticked(m[1] as string));
}
