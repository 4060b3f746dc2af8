import type { CheckResult, ContractSummary } from './result.ts';
import { RULE_INFO, RULE_ORDER, type RuleId } from './rules/index.ts';
import type { Violation } from './violations.ts';

/** What was read, for the report header and `--json`. */
export type SourceStats =
  | { readonly kind: 'url' | 'file' | 'stdin'; readonly name: string; readonly bytes: number; readonly lines: number; readonly samples: number }
  | { readonly kind: 'otlp'; readonly name: string; readonly pushes: number; readonly metrics: number; readonly dataPoints: number };

/** Names listed inline before "and N more". */
const MAX_LISTED_NAMES = 60;

function quoted(v: string): string {
  const q = JSON.stringify(v);
  return q.length > 120 ? `${q.slice(0, 117)}..."` : q;
}

function where(o: { readonly line?: number; readonly push?: number }): string {
  return o.line !== undefined ? `line ${o.line}` : o.push !== undefined ? `push ${o.push}` : '';
}

function names(list: readonly string[], total = list.length): string {
  const shown = list.slice(0, MAX_LISTED_NAMES).join(', ');
  return total > MAX_LISTED_NAMES ? `${shown}, and ${total - MAX_LISTED_NAMES} more` : shown;
}

function sourceLine(source: SourceStats, result: CheckResult): string {
  const fams = `${result.families.length} families, ${result.series} series`;
  if (source.kind === 'otlp') return `received ${source.pushes} OTLP pushes (${source.metrics} metrics, ${source.dataPoints} data points): ${fams}`;
  return `read ${source.lines} lines (${source.bytes} bytes, ${source.samples} samples): ${fams}`;
}

function contractLines(c: ContractSummary): string[] {
  const component = c.component ? ` (component ${c.component})` : '';
  const out = [
    `  ${c.id}${component}: ${c.present}/${c.documented} documented families present, ${c.required} required${c.undocumented ? `, ${c.undocumented} undocumented` : ''}; instance labels: ${c.instanceLabels.join(', ') || 'none'}`,
    `    document ${c.document.seed} "${c.document.title}"; upstream revision: ${c.document.upstreamRevision}${c.document.gitBlob ? `; git blob ${c.document.gitBlob}` : ''}`,
  ];
  if (c.document.note) out.push(`    (${c.document.note})`);
  const byWhy = new Map<string, string[]>();
  for (const n of c.notRequired) byWhy.set(n.why, [...(byWhy.get(n.why) ?? []), n.family]);
  for (const [why, fams] of byWhy) {
    const component = c.notRequired.find((n) => n.why === why)?.level === 'component';
    out.push(`    absent, not required: ${component ? `${fams.length} ${why}` : `${names(fams)} (${why})`}`);
  }
  return out;
}

function otlpLine(result: CheckResult): string[] {
  if (!result.otlp) return [];
  const t = result.otlp.translations;
  const parts = [`${t['as-sent']} as sent`, `${t.escaping} by underscore escaping`, `${t.default} by the collector's default translation`, `${t['base-name']} by base name only`, `${t.unmatched} unmatched`];
  const fits = result.otlp.fits.length ? `every matched name is its documented name under ${result.otlp.fits.join(' and under ')}` : 'no one collector translation gives every documented name';
  return [`  OTLP names: ${parts.join(', ')}; ${fits}`];
}

function header(result: CheckResult, source: SourceStats): string[] {
  const out = [`otel-contracts check ${source.name}`, `  ${sourceLine(source, result)}`];
  for (const c of result.contracts) out.push(...contractLines(c));
  out.push(...otlpLine(result));
  if (result.otherFamilies) {
    const renamed = new Map(result.families.filter((f) => f.likelyRenameOf).map((f) => [f.name, f.likelyRenameOf as string]));
    const listed = result.otherFamilyNames.map((n) => (renamed.has(n) ? `${n} (likely ${renamed.get(n)})` : n));
    out.push(`  not checked, outside the checked contracts (${result.otherFamilies}): ${names(listed, result.otherFamilies)}`);
  }
  return out;
}

/** One finding as a block: a headline, then its message, families, values, hint and citation. */
function findingBlock(v: Violation): string[] {
  const fams = v.families.length > 1 ? `${v.family} (+${v.families.length - 1 + (v.moreFamilies ?? 0)} more)` : v.family;
  const value = v.value === undefined ? '' : v.label !== undefined ? `${v.label}=${quoted(v.value)}` : quoted(v.value);
  const seen = [where(v), v.count > 1 ? `x${v.count}` : ''].filter(Boolean).join(' ');
  const out = [`  ${[v.contract, fams, value || (v.label ?? ''), seen].filter(Boolean).join('  ')}`, `      ${v.message}`];
  if (v.families.length > 1) out.push(`      families: ${names(v.families, v.families.length + (v.moreFamilies ?? 0))}`);
  if (v.values && v.values.length > 1) {
    const more = v.distinctValues !== undefined ? `, ${v.distinctValues} distinct in all` : '';
    out.push(`      values: ${v.values.map((x) => `${quoted(x.value)}${where(x) ? ` (${where(x)})` : ''}`).join(', ')}${more}`);
  }
  if (v.hint) out.push(`      hint: ${v.hint}`);
  out.push(`      per ${v.cite.document}: ${v.cite.sections.map((s) => `"${s}"`).join(', ')}`);
  return out;
}

/**
 * The readable report: a header (target, what was read, per contract its document and revision, the
 * families present and required, its instance labels, the absent families not required and why; over
 * OTLP, how names were translated; the families outside the checked contracts, by name), then the
 * findings grouped by rule, each naming contract, families, label, offending values (quoted), where they
 * were seen, why, and the document and section it comes from; then what the run allowed and a verdict.
 */
export function formatTable(result: CheckResult, source: SourceStats): string {
  const out = header(result, source);
  const byRule = new Map<RuleId, Violation[]>();
  for (const v of result.violations) byRule.set(v.rule, [...(byRule.get(v.rule) ?? []), v]);
  for (const rule of RULE_ORDER) {
    const list = byRule.get(rule);
    if (!list) continue;
    out.push('', `${rule}: ${RULE_INFO[rule].title} (${list.length})`);
    const explain = RULE_INFO[rule].explain;
    if (explain) out.push(`  ${explain}`);
    for (const v of list) out.push(...findingBlock(v));
  }
  if (result.allowed.length) {
    out.push('', `allowed by --allow-unobserved: family_not_observed (${result.allowed.length}): ${names(result.allowed.map((v) => v.family))}`);
  }
  out.push('');
  if (result.ok) {
    out.push('OK: no violations');
  } else {
    const rules = byRule.size;
    out.push(`FAIL: ${result.violations.length} violations under ${rules} rule${rules === 1 ? '' : 's'}${result.droppedViolations ? ` (${result.droppedViolations} more not listed)` : ''}`);
  }
  return `${out.join('\n')}\n`;
}

/** The `--json` report: `{ ok, exitCode, source, contracts, violations, allowed, families, ... }`, one JSON document. */
export function formatJson(result: CheckResult, source: SourceStats): string {
  const { ok, ...rest } = result;
  return `${JSON.stringify({ ok, exitCode: ok ? 0 : 1, source, ...rest }, null, 2)}\n`;
}

/** The `--json` document for an unreadable target (exit 2). */
export function formatJsonError(target: string, reason: string, line: number | undefined): string {
  return `${JSON.stringify({ ok: false, exitCode: 2, target, error: { reason, ...(line !== undefined ? { line } : {}) } }, null, 2)}\n`;
}
