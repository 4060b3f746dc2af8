import type { CheckResult } from './check.ts';
import { RULE_INFO, RULE_ORDER, type RuleId } from './rules/index.ts';
import type { Violation } from './violations.ts';

/** What was read, for the report header and `--json`. */
export type SourceStats =
  | { readonly kind: 'url' | 'file' | 'stdin'; readonly name: string; readonly bytes: number; readonly lines: number; readonly samples: number }
  | { readonly kind: 'otlp'; readonly name: string; readonly pushes: number; readonly metrics: number; readonly dataPoints: number };

const MAX_VALUE_WIDTH = 60;

function shown(v: Violation): string {
  if (v.value === undefined) return '-';
  const q = JSON.stringify(v.value);
  return q.length > 120 ? `${q.slice(0, 117)}..."` : q;
}

function seen(v: Violation): string {
  const at = v.line !== undefined ? `line ${v.line}` : v.push !== undefined ? `push ${v.push}` : '';
  const times = v.count > 1 ? `${at ? ' ' : ''}x${v.count}` : '';
  return at || times ? at + times : '-';
}

function pad(s: string, w: number): string {
  return s.length >= w ? s : s + ' '.repeat(w - s.length);
}

function sourceLine(source: SourceStats, result: CheckResult): string {
  const fams = `${result.families.length} families, ${result.series} series`;
  if (source.kind === 'otlp') return `received ${source.pushes} OTLP pushes (${source.metrics} metrics, ${source.dataPoints} data points): ${fams}`;
  return `read ${source.lines} lines (${source.bytes} bytes, ${source.samples} samples): ${fams}`;
}

/**
 * The readable report: a header (target, what was read, per-contract family counts), then the
 * violations grouped by rule, each row naming contract, family, label, offending value (quoted),
 * where it was seen and why; then a one-line verdict.
 */
export function formatTable(result: CheckResult, source: SourceStats): string {
  const out: string[] = [];
  out.push(`otel-contracts check ${source.name}`);
  out.push(`  ${sourceLine(source, result)}${result.otherFamilies ? ` (${result.otherFamilies} outside the checked contracts, not checked)` : ''}`);
  for (const c of result.contracts) {
    out.push(`  ${c.id}: ${c.present}/${c.documented} documented families present${c.undocumented ? `, ${c.undocumented} undocumented` : ''}`);
  }
  const byRule = new Map<RuleId, Violation[]>();
  for (const v of result.violations) {
    const list = byRule.get(v.rule) ?? [];
    list.push(v);
    byRule.set(v.rule, list);
  }
  for (const rule of RULE_ORDER) {
    const list = byRule.get(rule);
    if (!list) continue;
    out.push('');
    out.push(`${rule}: ${RULE_INFO[rule].title} (${list.length})`);
    out.push(`  per ${RULE_INFO[rule].source}`);
    const rows = list.map((v) => [v.contract, v.family, v.label ?? '-', shown(v), seen(v), v.message]);
    const header = ['CONTRACT', 'FAMILY', 'LABEL', 'VALUE', 'SEEN', 'DETAIL'];
    const widths = header.map((h, i) => (i >= 5 ? 0 : Math.min(i === 3 ? MAX_VALUE_WIDTH : 200, Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))));
    for (const r of [header, ...rows]) out.push(`  ${r.map((cell, i) => (i < 5 ? pad(cell, widths[i] as number) : cell)).join('  ')}`.trimEnd());
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

/** The `--json` report: `{ ok, exitCode, source, contracts, violations, families, ... }`, one JSON document. */
export function formatJson(result: CheckResult, source: SourceStats): string {
  const { ok, ...rest } = result;
  return `${JSON.stringify({ ok, exitCode: ok ? 0 : 1, source, ...rest }, null, 2)}\n`;
}

/** The `--json` document for an unreadable target (exit 2). */
export function formatJsonError(target: string, reason: string, line: number | undefined): string {
  return `${JSON.stringify({ ok: false, exitCode: 2, target, error: { reason, ...(line !== undefined ? { line } : {}) } }, null, 2)}\n`;
}
