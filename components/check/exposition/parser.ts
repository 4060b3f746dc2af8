import { TargetError } from './target-error.ts';
import type { LabelPair, ObservationSink, ObservedType } from './sink.ts';

/** Options of {@link ExpositionParser}. */
export interface ParserOptions {
  /**
   * True for documented histogram names: `X_bucket`/`X_sum`/`X_count` samples with no `# TYPE X` line are
   * then folded into an untyped family `X` (reported as a TYPE mismatch) instead of three unknown families.
   */
  readonly isHistogramName?: (name: string) => boolean;
}

interface FamState {
  type: ObservedType | undefined;
  helpLine: number | undefined;
  typeLine: number | undefined;
  firstSampleLine: number | undefined;
  lastLine: number;
  /** Histogram `le="+Inf"` lines and summary/histogram `_count` lines, to detect a family cut short. */
  inf: number;
  count: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const NAME_AT = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_AT = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])$/;
const TIMESTAMP = /^-?\d+$/;
const HELP = /^#[ \t]+HELP[ \t]+(\S+)(?:[ \t](.*))?$/;
const TYPE = /^#[ \t]+TYPE[ \t]+(\S+)[ \t]+(\S+)[ \t]*$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/** The index of the first non-blank (space, tab) character of `text` at or after `i`. */
function skipBlanks(text: string, i: number): number {
  while (i < text.length && isBlank(text.charCodeAt(i))) i++;
  return i;
}

function unescapeHelp(s: string): string {
  return s.includes('\\') ? s.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')) : s;
}

/**
 * A streaming parser of the Prometheus text exposition format 0.0.4, fed one line at a time. It keeps
 * a few numbers per family (never the text) and hands families and series to an {@link ObservationSink}:
 * a histogram's `_bucket`, `_sum` and `_count` lines (and a summary's quantile, `_sum` and `_count`
 * lines) become one series of the family, without `le`/`quantile`.
 *
 * Rejects (with {@link TargetError} naming the line): malformed HELP, TYPE or sample lines; a second
 * HELP or TYPE line for one family; a TYPE line after that family's samples; a histogram bucket without
 * a valid `le`; a summary quantile without `quantile`; duplicate label names; bad escapes; and, at
 * {@link end}, a histogram or summary whose `+Inf` buckets and `_count` lines do not pair up (cut short).
 */
export class ExpositionParser {
  private readonly fams = new Map<string, FamState>();
  private readonly sink: ObservationSink;
  private readonly isHistogramName: (name: string) => boolean;
  private samples = 0;

  constructor(sink: ObservationSink, opts: ParserOptions = {}) {
    this.sink = sink;
    this.isHistogramName = opts.isHistogramName ?? (() => false);
  }

  /** Sample lines parsed so far. */
  get sampleCount(): number {
    return this.samples;
  }

  /** Parses one line (without its newline). @throws TargetError for a malformed line. */
  line(text: string, n: number): void {
    const i = skipBlanks(text, 0);
    if (i === text.length) return;
    if (text.charCodeAt(i) === 35 /* # */) {
      this.comment(i === 0 ? text : text.slice(i), n);
      return;
    }
    this.sample(text, i, n);
  }

  /** Ends the input. @throws TargetError when a histogram or summary was cut short. */
  end(): void {
    for (const [name, f] of this.fams) {
      if (f.type === 'histogram' && f.inf !== f.count) {
        throw new TargetError(
          `histogram ${name} is incomplete: ${f.inf} series have a le="+Inf" bucket but ${f.count} have ${name}_count; the exposition looks cut inside it`,
          f.lastLine,
        );
      }
    }
  }

  private state(name: string, n: number): FamState {
    let f = this.fams.get(name);
    if (!f) {
      f = { type: undefined, helpLine: undefined, typeLine: undefined, firstSampleLine: undefined, lastLine: n, inf: 0, count: 0 };
      this.fams.set(name, f);
    }
    return f;
  }

  private comment(text: string, n: number): void {
    if (/^#[ \t]+HELP(?:[ \t]|$)/.test(text)) {
      const m = HELP.exec(text);
      if (!m || !METRIC_NAME.test(m[1] as string)) throw new TargetError(`malformed HELP line: expected "# HELP <metric_name> <text>", got ${quote(text)}`, n);
      const name = m[1] as string;
      const f = this.state(name, n);
      if (f.helpLine !== undefined) throw new TargetError(`duplicate HELP line for ${name} (first at line ${f.helpLine})`, n);
      f.helpLine = n;
      f.lastLine = n;
      this.sink.family(name, { help: unescapeHelp(m[2] ?? '') }, { line: n });
      return;
    }
    if (/^#[ \t]+TYPE(?:[ \t]|$)/.test(text)) {
      const m = TYPE.exec(text);
      if (!m || !METRIC_NAME.test(m[1] as string)) throw new TargetError(`malformed TYPE line: expected "# TYPE <metric_name> <type>", got ${quote(text)}`, n);
      const name = m[1] as string;
      const type = m[2] as string;
      if (!TYPES.has(type)) throw new TargetError(`unknown TYPE "${type}" for ${name}: expected counter, gauge, histogram, summary or untyped`, n);
      const f = this.state(name, n);
      if (f.typeLine !== undefined) throw new TargetError(`duplicate TYPE line for ${name} (first at line ${f.typeLine})`, n);
      if (f.firstSampleLine !== undefined) throw new TargetError(`TYPE line for ${name} after its samples (first sample at line ${f.firstSampleLine})`, n);
      f.typeLine = n;
      f.type = type as ObservedType;
      f.lastLine = n;
      this.sink.family(name, { type: type as ObservedType }, { line: n });
    }
    // Any other comment is ignored.
  }

  private sample(text: string, start: number, n: number): void {
    NAME_AT.lastIndex = start;
    const nm = NAME_AT.exec(text);
    if (!nm) throw new TargetError(`malformed line: expected a metric name, a comment or an empty line, got ${quote(text)}`, n);
    const name = nm[0];
    let i = start + name.length;
    i = skipBlanks(text, i);
    const labels: [string, string][] = [];
    if (text.charCodeAt(i) === 123 /* { */) {
      i = this.labels(text, i + 1, labels, n);
      i = skipBlanks(text, i);
    } else if (i === start + name.length && i < text.length) {
      throw new TargetError(`malformed sample: invalid character after ${name}: ${quote(text)}`, n);
    }
    const valueStart = i;
    while (i < text.length && !isBlank(text.charCodeAt(i))) i++;
    const value = text.slice(valueStart, i);
    if (value === '') throw new TargetError(`malformed sample: ${name} has no value (line cut short?): ${quote(text)}`, n);
    if (!FLOAT.test(value)) throw new TargetError(`malformed sample: value ${quote(value)} of ${name} is not a number`, n);
    i = skipBlanks(text, i);
    if (i < text.length) {
      const tsStart = i;
      while (i < text.length && !isBlank(text.charCodeAt(i))) i++;
      const ts = text.slice(tsStart, i);
      if (!TIMESTAMP.test(ts)) throw new TargetError(`malformed sample: timestamp ${quote(ts)} of ${name} is not an integer (milliseconds)`, n);
      i = skipBlanks(text, i);
      if (i < text.length) throw new TargetError(`malformed sample: unexpected text after the timestamp: ${quote(text)}`, n);
    }
    this.samples++;
    this.route(name, labels, n, value);
  }

  /** Parses `a="x",b="y"}` from `i` (just after `{`) into `out`; returns the index after `}`. */
  private labels(text: string, i: number, out: [string, string][], n: number): number {
    // A Set, not a scan of `out`: a 1 MiB line may carry 100k labels.
    const seen = new Set<string>();
    for (;;) {
      i = skipBlanks(text, i);
      if (i >= text.length) throw new TargetError(`malformed sample: label set not closed with "}" (line cut short?): ${quote(text)}`, n);
      if (text.charCodeAt(i) === 125 /* } */) return i + 1;
      LABEL_AT.lastIndex = i;
      const lm = LABEL_AT.exec(text);
      if (!lm) throw new TargetError(`malformed sample: invalid label name at column ${i + 1}: ${quote(text)}`, n);
      const label = lm[0];
      i += label.length;
      i = skipBlanks(text, i);
      if (text.charCodeAt(i) !== 61 /* = */) throw new TargetError(`malformed sample: expected "=" after label ${label}: ${quote(text)}`, n);
      i++;
      i = skipBlanks(text, i);
      if (text.charCodeAt(i) !== 34 /* " */) throw new TargetError(`malformed sample: value of label ${label} is not quoted: ${quote(text)}`, n);
      i++;
      let value = '';
      let segment = i;
      for (;;) {
        if (i >= text.length) throw new TargetError(`malformed sample: value of label ${label} not closed with a quote (line cut short?): ${quote(text)}`, n);
        const c = text.charCodeAt(i);
        if (c === 34) break;
        if (c === 92 /* \ */) {
          const e = text[i + 1];
          if (e !== '\\' && e !== '"' && e !== 'n') throw new TargetError(`malformed sample: invalid escape "\\${e ?? ''}" in label ${label} (only \\\\, \\" and \\n)`, n);
          value += text.slice(segment, i) + (e === 'n' ? '\n' : e);
          i += 2;
          segment = i;
          continue;
        }
        i++;
      }
      value += text.slice(segment, i);
      i++;
      if (seen.has(label)) throw new TargetError(`malformed sample: label ${label} appears twice`, n);
      seen.add(label);
      out.push([label, value]);
      i = skipBlanks(text, i);
      const c = text.charCodeAt(i);
      if (c === 44 /* , */) {
        i++;
        continue;
      }
      if (c === 125) return i + 1;
      throw new TargetError(`malformed sample: expected "," or "}" after label ${label} (line cut short?): ${quote(text)}`, n);
    }
  }

  /** Assigns a sample to its family (histogram/summary suffixes folded) and passes the series on. */
  private route(name: string, labels: [string, string][], n: number, value: string): void {
    let family = name;
    let role: 'plain' | 'bucket' | 'sum' | 'count' | 'quantile' = 'plain';
    let f = this.fams.get(name);
    if (f?.type === 'histogram') throw new TargetError(`sample ${name} belongs to histogram ${name} but has no _bucket, _sum or _count suffix`, n);
    if (f?.type === 'summary') {
      role = 'quantile';
    } else if (!f || f.type === undefined || f.type === 'untyped') {
      const folded = this.fold(name, f !== undefined);
      if (folded) {
        family = folded.family;
        role = folded.role;
        f = this.fams.get(family);
      }
    }
    if (!f) {
      f = this.state(family, n);
      this.sink.family(family, { type: 'untyped' }, { line: n });
    }
    if (f.firstSampleLine === undefined) f.firstSampleLine = n;
    f.lastLine = n;
    let series: LabelPair[] = labels;
    if (role === 'bucket' || role === 'quantile') {
      const key = role === 'bucket' ? 'le' : 'quantile';
      const idx = labels.findIndex(([k]) => k === key);
      const v = idx === -1 ? undefined : (labels[idx] as [string, string])[1];
      if (v === undefined || !FLOAT.test(v)) {
        throw new TargetError(`${role === 'bucket' ? 'histogram bucket' : 'summary quantile'} ${name} without a valid ${key} label${v !== undefined ? ` (${quote(v)})` : ''}`, n);
      }
      if (role === 'bucket' && /^\+?inf$/i.test(v)) f.inf++;
      series = labels.filter((_, j) => j !== idx);
    } else if (role === 'count') {
      f.count++;
    }
    this.sink.series(family, series, { line: n });
    this.sink.sample?.({ family, name, labels, value: parseFloatValue(value) }, { line: n });
  }

  /**
   * `X_bucket` / `X_sum` / `X_count` of a declared histogram (or summary, for `_sum`/`_count`), or of a
   * documented histogram name when nothing declares `X`. Undefined when the name is its own family.
   */
  private fold(name: string, declaredItself: boolean): { family: string; role: 'bucket' | 'sum' | 'count' } | undefined {
    for (const [suffix, role] of [
      ['_bucket', 'bucket'],
      ['_sum', 'sum'],
      ['_count', 'count'],
    ] as const) {
      if (!name.endsWith(suffix)) continue;
      const base = name.slice(0, -suffix.length);
      const b = this.fams.get(base);
      if (b?.type === 'histogram' || (b?.type === 'summary' && role !== 'bucket')) return { family: base, role };
      if (!declaredItself && (b === undefined || b.type === undefined || b.type === 'untyped') && this.isHistogramName(base)) return { family: base, role };
    }
    return undefined;
  }
}

/** A sample value as Prometheus reads it: `+Inf`, `-Inf` and `NaN` in any case, else a float. */
function parseFloatValue(v: string): number {
  const inf = /^([+-]?)inf(?:inity)?$/i.exec(v);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  return Number(v);
}

function quote(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}...` : s);
}
