/**
 * Test helpers: write a clean Prometheus text exposition of a contract (every family, one or two
 * series with documented label values), let a test break it, and run `check` on the text.
 */
import { Readable } from 'node:stream';
import { instanceLabelsOf } from '../../../semconv/instance-scope.ts';
import type { ContractSpec, FamilySpec, LabelSpec } from '../../../semconv/types.ts';
import { escapeLabelValue } from '../../../instrumentation/scrape/serializer.ts';
import { runCheckCommand, type CheckCommandOptions } from '../command.ts';
import type { Violation } from '../violations.ts';
import { pino } from 'pino';

/** One family as written: TYPE, HELP and the label sets of its series. */
export interface WrittenFamily {
  name: string;
  type: string;
  help: string;
  series: Record<string, string>[];
}

const STRING_VALUES: Record<string, string> = {
  path_template: '/v1/orgs/{org_id}/apps',
  mount: '/var/lib/trc',
};

function valueOf(l: LabelSpec): string {
  return l.values?.[0] ?? STRING_VALUES[l.name] ?? `${l.name}-1`;
}

/** The families of a contract with one series each (documented label values, instance labels set). */
export function cleanFamilies(contract: ContractSpec): Map<string, WrittenFamily> {
  const out = new Map<string, WrittenFamily>();
  for (const f of contract.families) {
    const labels: Record<string, string> = {};
    for (const il of instanceLabelsOf(contract, f.name)) labels[il.name] = 'test-instance';
    for (const l of f.labels) labels[l.name] = valueOf(l);
    out.set(f.name, { name: f.name, type: f.type, help: f.help, series: [labels] });
  }
  return out;
}

function labelText(labels: Record<string, string>, extra?: [string, string]): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  if (extra) pairs.push(`${extra[0]}="${extra[1]}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

/** Renders families as text 0.0.4; histograms get `_bucket` lines for `buckets` (default the spec's, or 1) plus `+Inf`, `_sum`, `_count`. */
export function render(families: Iterable<WrittenFamily>, specs: readonly FamilySpec[] = []): string {
  let s = '';
  for (const f of families) {
    s += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
    const buckets = specs.find((x) => x.name === f.name)?.buckets ?? [1];
    for (const labels of f.series) {
      if (f.type === 'histogram') {
        for (const b of buckets) s += `${f.name}_bucket${labelText(labels, ['le', String(b)])} 1\n`;
        s += `${f.name}_bucket${labelText(labels, ['le', '+Inf'])} 1\n`;
        s += `${f.name}_sum${labelText(labels)} 0.5\n`;
        s += `${f.name}_count${labelText(labels)} 1\n`;
      } else {
        s += `${f.name}${labelText(labels)} 1\n`;
      }
    }
  }
  return s;
}

/** A clean exposition of `contract`, after `edit` (if any) changed its families. */
export function writeExposition(contract: ContractSpec, edit?: (families: Map<string, WrittenFamily>) => void): string {
  const families = cleanFamilies(contract);
  edit?.(families);
  return render(families.values(), contract.families);
}

/** What {@link check} returns: exit code, the parsed `--json` document, stdout and stderr text. */
export interface CheckOutcome {
  code: number;
  json: { ok: boolean; violations: Violation[]; error?: { reason: string; line?: number }; [k: string]: unknown };
  stdout: string;
  stderr: string;
}

/** A pino logger that writes nowhere. */
export const silentLogger = pino({ level: 'silent' });

/** Runs `check -` on `input` (text or chunks) with `--json`, capturing output; `target` overrides `-` (null: no target). */
export async function check(input: string | AsyncIterable<Uint8Array | string> | undefined, opts: Partial<CheckCommandOptions> & { target?: string | null } = {}): Promise<CheckOutcome> {
  let stdout = '';
  let stderr = '';
  const stdin = typeof input === 'string' ? Readable.from([Buffer.from(input)]) : (input ?? Readable.from([]));
  const { target, ...rest } = opts;
  const code = await runCheckCommand(
    target === null ? undefined : (target ?? (rest.otlpListen ? undefined : '-')),
    { contract: 'trc', json: true, ...rest },
    { stdin, stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, logger: silentLogger },
  );
  return { code, json: rest.json === false ? ({} as CheckOutcome['json']) : JSON.parse(stdout), stdout, stderr };
}

/** A series' labels of a written family (the first one), copied. */
export function firstSeries(families: Map<string, WrittenFamily>, name: string): Record<string, string> {
  const f = families.get(name);
  if (!f) throw new Error(`no family ${name}`);
  return { ...(f.series[0] as Record<string, string>) };
}
