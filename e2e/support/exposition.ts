/**
 * Reading one value out of a Prometheus text exposition (a component's own /metrics).
 */

/**
 * The value of the first sample line of `name` whose label set contains `label` (e.g.
 * `result="failure"`; any line of `name` when omitted), or undefined when there is none.
 */
export function sampleValue(exposition: string, name: string, label?: string): number | undefined {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\{[^}]*\})? (\S+)/.exec(line.slice(name.length));
    if (m && (label === undefined || (m[1] ?? '').includes(label))) return Number(m[2]);
  }
  return undefined;
}

/**
 * GETs `url` and returns the value of `name` (optionally the line with `label`) in the exposition.
 * @throws Error on a non-200 answer, a connection error, or when `name` is not in it.
 */
export async function scrapeValue(url: string, name: string, label?: string): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  const v = sampleValue(text, name, label);
  if (v === undefined) throw new Error(`GET ${url}: no ${name}${label ? `{${label}}` : ''} in the exposition`);
  return v;
}
