import { escapeLabelValue, formatValue } from '../../instrumentation/scrape/serializer.ts';

/** One sample line: its name (`x`, `x_bucket`, `x_sum`, `x_count`), labels in written order, and value. */
export interface ParsedSample {
  readonly name: string;
  readonly labels: readonly (readonly [string, string])[];
  readonly value: number;
}

/** One family of a Prometheus text exposition (0.0.4), as the pipeline's serializer writes it. */
export interface ParsedFamily {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: ParsedSample[];
}

/** A text exposition that cannot be read; the message names the line. */
export class ExpositionError extends Error {}

/**
 * Parses a Prometheus text exposition (format 0.0.4) into families in written order. Samples belong to the
 * family of the closest preceding `# TYPE` whose name they extend (`_bucket`, `_sum`, `_count` for histograms).
 * @throws ExpositionError on a line that is not a comment, a blank or a well-formed sample.
 */
export function parseExposition(text: string): ParsedFamily[] {
  const families: ParsedFamily[] = [];
  const byName = new Map<string, ParsedFamily>();
  const help = new Map<string, string>();
  let current: ParsedFamily | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (!m) continue; // other comments
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (kind === 'HELP') help.set(name, unescapeHelp(rest));
      else {
        if (byName.has(name)) throw new ExpositionError(`line ${i + 1}: a second TYPE for ${name}`);
        current = { name, type: rest, help: help.get(name) ?? '', samples: [] };
        byName.set(name, current);
        families.push(current);
      }
      continue;
    }
    const sample = parseSample(line, i + 1);
    if (!current || !belongsTo(sample.name, current)) throw new ExpositionError(`line ${i + 1}: sample ${sample.name} outside its family`);
    current.samples.push(sample);
  }
  return families;
}

function belongsTo(sample: string, f: ParsedFamily): boolean {
  if (sample === f.name) return true;
  return f.type === 'histogram' && (sample === `${f.name}_bucket` || sample === `${f.name}_sum` || sample === `${f.name}_count`);
}

function parseSample(line: string, n: number): ParsedSample {
  const nameEnd = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameEnd) throw new ExpositionError(`line ${n}: no metric name`);
  const name = nameEnd[0];
  let i = name.length;
  const labels: [string, string][] = [];
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const key = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
      if (!key || line[i + key[0].length] !== '=' || line[i + key[0].length + 1] !== '"') throw new ExpositionError(`line ${n}: bad label at column ${i + 1}`);
      i += key[0].length + 2;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new ExpositionError(`line ${n}: unterminated label value`);
        i++;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++];
          value += e === 'n' ? '\n' : e === '\\' ? '\\' : e === '"' ? '"' : `\\${e ?? ''}`;
        } else value += c;
      }
      labels.push([key[0], value]);
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new ExpositionError(`line ${n}: expected , or } at column ${i + 1}`);
    }
    i++;
  }
  if (line[i] !== ' ') throw new ExpositionError(`line ${n}: expected a space before the value`);
  const raw = line.slice(i + 1).split(' ')[0] as string;
  const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? NaN : Number(raw);
  if (raw === '' || (Number.isNaN(value) && raw !== 'NaN')) throw new ExpositionError(`line ${n}: bad value "${raw}"`);
  return { name, labels, value };
}

function unescapeHelp(s: string): string {
  return s.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Writes families back as a text exposition, in the order given (HELP and TYPE even when a family has no sample). */
export function writeExposition(families: Iterable<ParsedFamily>): string {
  let out = '';
  for (const f of families) {
    out += `# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      const labels = s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
      out += `${s.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}\n`;
    }
  }
  return out;
}
