/**
 * A collector's own metrics (its telemetry endpoint, `/metrics` in the Prometheus text format): how many data
 * points its receiver accepted or refused, what its exporters sent or failed to send.
 */

/** The text of `http://127.0.0.1:<port>/metrics`. @throws Error on a failed request. */
export async function scrapeCollector(port: number, timeoutMs = 5_000): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`collector telemetry on :${port}: HTTP ${res.status}`);
  return res.text();
}

/**
 * The sum over every label set of the counter `name` (written `name` or `name_total`, as the collector's
 * Prometheus exporter does); 0 when absent. Reads sample lines only, loosely: this is the collector's
 * exposition, not one the contracts judge.
 */
export function counterValue(exposition: string, name: string): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && (m[1] === name || m[1] === `${name}_total`)) sum += Number(m[2]);
  }
  return sum;
}
