/**
 * The messages between a preloaded cluster primary and its workers, over Node's `cluster` IPC channel.
 * Every one carries `otelContracts` naming its kind; the app's own messages never do and are never looked at.
 */
import { fromWireNumber, type CollectedFamily, type CollectedHistogram, type CollectedValue, type WireNumber } from './collected.ts';

/** Set by a preloaded primary in its environment (its pid), which `cluster.fork()` passes to workers. */
export const PRIMARY_ENV = 'OTEL_CONTRACTS_CLUSTER_PRIMARY';

/** Primary → worker: collect your data points and answer with request `id`. */
export interface CollectRequest {
  readonly otelContracts: 'collect';
  readonly id: number;
}

/** Worker → primary: the worker's collected families (its own series, cumulative) for request `id`. */
export interface CollectResponse {
  readonly otelContracts: 'collected';
  readonly id: number;
  readonly families: readonly CollectedFamily<WireNumber>[];
}

/** Whether a message is addressed to otel-contracts at all (the app's messages are not). */
export function isOurs(message: unknown): message is { otelContracts: unknown } {
  return typeof message === 'object' && message !== null && 'otelContracts' in message;
}

/** A {@link CollectRequest}, or undefined for anything else. */
export function asRequest(message: unknown): CollectRequest | undefined {
  const m = message as Partial<CollectRequest> | null;
  return isOurs(m) && m.otelContracts === 'collect' && Number.isSafeInteger(m.id) ? (m as CollectRequest) : undefined;
}

/**
 * Largest worker answer the primary merges, in estimated bytes: every string's length plus 8 per number
 * and per array or object. Above it the answer is dropped as malformed. (Node has already received and
 * decoded the message by then: the bound keeps a runaway worker out of the merge and the exposition.)
 */
export const MAX_COLLECTED_BYTES = 64 * 2 ** 20;

/** What the primary makes of a message of ours: a worker's families, or why it was refused. */
export type ResponseReading =
  | { readonly ok: true; readonly id: number; readonly families: CollectedFamily[] }
  /** `id` is the request the message claims to answer, when it carries a valid one. */
  | { readonly ok: false; readonly id?: number; readonly why: string };

/**
 * Reads a {@link CollectResponse}, checking every field and decoding the values: family names must be
 * Prometheus metric names (they are written verbatim), types `counter`, `gauge` or `histogram`, names
 * unique; labels `[string, string]` pairs with no name twice in a series; values numbers or
 * {@link WireNumber}s; histogram boundaries finite and strictly increasing, one more count than bounds,
 * counts and `count` finite and not negative. Never throws, whatever the message holds.
 * @param maxBytes the size bound (default {@link MAX_COLLECTED_BYTES}).
 */
export function readResponse(message: unknown, maxBytes = MAX_COLLECTED_BYTES): ResponseReading {
  if (!isOurs(message) || message.otelContracts !== 'collected') return { ok: false, why: 'not a collected answer' };
  const m = message as Partial<Record<keyof CollectResponse, unknown>>;
  const id = Number.isSafeInteger(m.id) ? (m.id as number) : undefined;
  const fail = (why: string): ResponseReading => (id === undefined ? { ok: false, why } : { ok: false, id, why });
  if (id === undefined) return fail('no request id');
  if (!Array.isArray(m.families)) return fail('no families');
  const budget = { left: maxBytes };
  const families: CollectedFamily[] = [];
  const names = new Set<string>();
  try {
    for (const raw of m.families as unknown[]) {
      const f = readFamily(raw, budget);
      if (names.has(f.name)) throw new Refused(`family ${f.name} twice`);
      names.add(f.name);
      families.push(f);
    }
  } catch (e) {
    return fail(e instanceof Refused ? e.message : 'unreadable');
  }
  return { ok: true, id, families };
}

class Refused extends Error {}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function spend(budget: { left: number }, bytes: number): void {
  budget.left -= bytes;
  if (budget.left < 0) throw new Refused('larger than the size bound');
}

function str(v: unknown, what: string, budget: { left: number }): string {
  if (typeof v !== 'string') throw new Refused(`${what} is not a string`);
  spend(budget, v.length);
  return v;
}

function list(v: unknown, what: string, budget: { left: number }): unknown[] {
  if (!Array.isArray(v)) throw new Refused(`${what} is not an array`);
  spend(budget, 8 + 8 * v.length);
  return v;
}

function num(v: unknown, what: string): number {
  const n = fromWireNumber(v);
  if (n === undefined) throw new Refused(`${what} is not a number`);
  return n;
}

function readFamily(raw: unknown, budget: { left: number }): CollectedFamily {
  if (typeof raw !== 'object' || raw === null) throw new Refused('a family is not an object');
  const f = raw as Record<string, unknown>;
  const name = str(f.name, 'a family name', budget);
  if (!METRIC_NAME.test(name)) throw new Refused(`family name ${JSON.stringify(name.slice(0, 100))} is not a metric name`);
  const meta = { name, help: str(f.help, `${name} help`, budget), unit: str(f.unit, `${name} unit`, budget) };
  const series = list(f.series, `${name} series`, budget);
  if (f.type === 'histogram') return { ...meta, type: 'histogram', series: series.map((s) => readHistogram(s, name, budget)) };
  if (f.type === 'counter' || f.type === 'gauge') return { ...meta, type: f.type, series: series.map((s) => readValue(s, name, budget)) };
  throw new Refused(`${name} has no known type`);
}

function readLabels(raw: Record<string, unknown>, name: string, budget: { left: number }): [string, string][] {
  const seen = new Set<string>();
  return list(raw.labels, `${name} labels`, budget).map((pair) => {
    const [k, v] = list(pair, `${name} label`, budget);
    if ((pair as unknown[]).length !== 2) throw new Refused(`${name} has a label that is not a pair`);
    const key = str(k, `${name} label name`, budget);
    if (seen.has(key)) throw new Refused(`${name} has label ${key} twice in a series`);
    seen.add(key);
    return [key, str(v, `${name} label value`, budget)];
  });
}

function seriesObject(raw: unknown, name: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null) throw new Refused(`${name} has a series that is not an object`);
  return raw as Record<string, unknown>;
}

function readValue(raw: unknown, name: string, budget: { left: number }): CollectedValue {
  const s = seriesObject(raw, name);
  spend(budget, 8);
  return { labels: readLabels(s, name, budget), value: num(s.value, `${name} value`) };
}

function readHistogram(raw: unknown, name: string, budget: { left: number }): CollectedHistogram {
  const s = seriesObject(raw, name);
  const labels = readLabels(s, name, budget);
  const boundaries = list(s.boundaries, `${name} boundaries`, budget).map((b) => {
    if (typeof b !== 'number' || !Number.isFinite(b)) throw new Refused(`${name} has a boundary that is not a finite number`);
    return b;
  });
  if (boundaries.some((b, i) => i > 0 && b <= (boundaries[i - 1] as number))) throw new Refused(`${name} boundaries are not increasing`);
  const counts = list(s.counts, `${name} counts`, budget).map((c) => count(c, name));
  if (counts.length !== boundaries.length + 1) throw new Refused(`${name} has ${counts.length} counts for ${boundaries.length} boundaries`);
  spend(budget, 16);
  return { labels, boundaries, counts, sum: num(s.sum, `${name} sum`), count: count(s.count, name) };
}

function count(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Refused(`${name} has a count that is not a finite number >= 0`);
  return v;
}
