import { ExpositionParser } from '../../instrumentation/exposition/parser.ts';
import type { ObservationSink } from '../../instrumentation/exposition/sink.ts';
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

/**
 * Parses a Prometheus text exposition (format 0.0.4) into families in written order, with the strict
 * parser `otel-contracts check` uses (a histogram's `_bucket`, `_sum` and `_count` samples go to their family).
 * @throws TargetError naming the line for anything malformed: a bad sample line, a second HELP or TYPE,
 *   samples before their TYPE, a histogram cut short.
 */
export function parseExposition(text: string): ParsedFamily[] {
  const families = new Map<string, { name: string; type: string; help: string; samples: ParsedSample[] }>();
  const sink: ObservationSink = {
    family(name, meta) {
      let f = families.get(name);
      if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
      if (meta.type !== undefined) f.type = meta.type;
      if (meta.help !== undefined) f.help = meta.help;
    },
    series() {},
    sample(s) {
      families.get(s.family)?.samples.push({ name: s.name, labels: s.labels, value: s.value });
    },
  };
  const parser = new ExpositionParser(sink);
  text.split('\n').forEach((line, i) => parser.line(line, i + 1));
  parser.end();
  return [...families.values()];
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
