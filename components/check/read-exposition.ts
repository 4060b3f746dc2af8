/**
 * The check's reader of a Prometheus text exposition: the streaming reader (`exposition/`), plus the `# UNIT <name> <unit>` lines it ignores as comments. The
 * 0.0.4 format has no UNIT line, but exporters that write OpenMetrics metadata into text do; where a
 * family has one, the check compares it with the documented unit.
 */
import { readExposition, type ExpositionStats, type ReadExpositionOptions } from './exposition/read.ts';
import type { CheckSink } from './model.ts';

const UNIT = /^#[ \t]+UNIT[ \t]+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:[ \t]+(\S*))?[ \t]*$/;

/**
 * Streams an exposition from `chunks` into `sink` (families, series and samples, as
 * `readExposition` does) and hands each `# UNIT` line's unit to `sink.describe` once the family is declared.
 * @returns byte, line and sample counts.
 * @throws TargetError with the line number: malformed, duplicate HELP/TYPE, truncated, too large, or a read error.
 */
export async function readCheckedExposition(
  chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  sink: CheckSink,
  opts: ReadExpositionOptions = {},
): Promise<ExpositionStats> {
  const units: { family: string; unit: string; line: number }[] = [];
  const onLine = (text: string, n: number) => {
    const m = text.charCodeAt(0) === 35 /* # */ ? UNIT.exec(text) : null;
    if (m && units.length < 20_000) units.push({ family: m[1] as string, unit: m[2] ?? '', line: n });
  };
  const stats = await readExposition(chunks, sink, { ...opts, onLine });
  for (const u of units) sink.describe(u.family, { unit: { unit: u.unit, source: 'unit-line', origin: { line: u.line } } });
  return stats;
}
