/**
 * Test support: reading a Prometheus text exposition (0.0.4) with the product's own strict parser
 * (`instrumentation/exposition/parser.ts`, the one `otel-contracts check` uses), so every test that reads
 * our `/metrics` also tests that the serializer writes what the check accepts. A malformed exposition
 * fails the test.
 */
import { ExpositionParser } from '../components/check/exposition/parser.ts';
import type { ObservationSink } from '../components/check/exposition/sink.ts';
import { pollUntil, type PollOptions } from './poll.ts';

/** One sample line: its own name (`X_bucket` for a bucket), its family (`X`), labels (unescaped) and value. */
export interface SampleLine {
  readonly name: string;
  readonly family: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A parsed exposition: HELP and TYPE by family, and every sample line in order. */
export interface Exposition {
  readonly help: Map<string, string>;
  readonly type: Map<string, string>;
  readonly samples: SampleLine[];
}

/**
 * Parses an exposition strictly.
 * @param histograms documented histogram names, so `X_bucket` lines without `# TYPE X` still fold into `X`.
 * @throws TargetError naming the line for anything the check would reject (duplicate HELP, bad escape, cut histogram).
 */
export function readExposition(text: string, histograms: ReadonlySet<string> = new Set()): Exposition {
  const out: Exposition = { help: new Map(), type: new Map(), samples: [] };
  const sink: ObservationSink = {
    family(name, meta) {
      if (meta.help !== undefined) out.help.set(name, meta.help);
      if (meta.type !== undefined) out.type.set(name, meta.type);
    },
    series() {},
    sample(s) {
      out.samples.push({ name: s.name, family: s.family, labels: Object.fromEntries(s.labels), value: s.value });
    },
  };
  const parser = new ExpositionParser(sink, { isHistogramName: (n) => histograms.has(n) });
  text.split('\n').forEach((line, i) => parser.line(line, i + 1));
  parser.end();
  return out;
}

/** The sample lines of an exposition (see {@link readExposition}). */
export function parseExposition(text: string): SampleLine[] {
  return readExposition(text).samples;
}

/** Samples named `name` whose labels include all of `labels` (other labels ignored). */
export function find(samples: readonly SampleLine[], name: string, labels: Record<string, string> = {}): SampleLine[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** Sum of the values of {@link find}; 0 when nothing matches (use `find` to tell absent from zero). */
export function total(samples: readonly SampleLine[], name: string, labels: Record<string, string> = {}): number {
  return find(samples, name, labels).reduce((a, s) => a + s.value, 0);
}

/**
 * GETs a `/metrics` URL (10 s bound) and parses it strictly.
 * @throws Error on a non-200 answer or a connection error; TargetError on a malformed exposition.
 */
export async function scrape(url: string): Promise<{ text: string; samples: SampleLine[] }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return { text, samples: parseExposition(text) };
}

/**
 * GETs a `/metrics` URL and returns {@link total} of `name` with `labels`.
 * @throws Error as {@link scrape} does, and when no sample matches (absent is not zero here).
 */
export async function scrapeValue(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const { samples } = await scrape(url);
  if (find(samples, name, labels).length === 0) throw new Error(`GET ${url}: no ${name}${JSON.stringify(labels)} in the exposition`);
  return total(samples, name, labels);
}

/**
 * Scrapes until `accept` holds (the scrape endpoint allows 10 scrapes/s with a burst of 20, so the
 * default pace is 150 ms, for at most 6 s). No timing is asserted: the bound only ends the test.
 * @throws Error naming `what` and the last scrape when `accept` never held.
 */
export function scrapeUntil(url: string, what: string, accept: (s: SampleLine[]) => boolean, opts: PollOptions<SampleLine[]> = {}): Promise<SampleLine[]> {
  return pollUntil(what, async () => (await scrape(url)).samples, accept, {
    timeoutMs: 6_000,
    intervalMs: 150,
    describe: (s) => s.map((x) => `${x.name}${JSON.stringify(x.labels)} ${x.value}`).join('\n').slice(0, 2000),
    ...opts,
  });
}
