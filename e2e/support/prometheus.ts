/**
 * Prometheus HTTP API queries against the e2e stack (127.0.0.1:9090).
 */
import { STACK_PORTS } from '../../otel-config/stack.ts';

/** Base URL of the stack's Prometheus. */
export const PROMETHEUS_URL = `http://127.0.0.1:${STACK_PORTS.prometheus}`;

/** One series of an instant vector: its labels (with `__name__`) and its value as Prometheus wrote it. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  /** The value string from the API ("7", "4.9995", "NaN"); exact, no float reformatting. */
  readonly value: string;
}

/**
 * Runs an instant query (`/api/v1/query`) and returns the vector.
 * @throws Error with the HTTP status and Prometheus' error text, or when the result is not a vector.
 */
export async function instantQuery(expr: string): Promise<PromSample[]> {
  const url = `${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(expr)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (!res.ok || body.status !== 'success' || !body.data) {
    throw new Error(`Prometheus query ${expr} failed: HTTP ${res.status} ${body.error ?? ''}`);
  }
  if (body.data.resultType !== 'vector') throw new Error(`Prometheus query ${expr}: expected a vector, got ${body.data.resultType}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: r.value[1] }));
}

/**
 * The single value of a query that aggregates to one series (`sum(...)`, `count(...)`), or undefined
 * when the result is empty.
 * @throws Error when the query returns more than one series.
 */
export async function scalarQuery(expr: string): Promise<number | undefined> {
  const v = await instantQuery(expr);
  if (v.length > 1) throw new Error(`Prometheus query ${expr}: expected at most one series, got ${v.length}`);
  return v[0] ? Number(v[0].value) : undefined;
}

/** Escapes a string for use inside a double-quoted PromQL label matcher. */
export function promString(s: string): string {
  return JSON.stringify(s);
}
