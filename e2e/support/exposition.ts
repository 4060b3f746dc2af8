/**
 * Reading one value out of a Prometheus text exposition (a component's own /metrics).
 */

/**
 * The value of the first sample line of `name` (with any labels), or undefined when absent.
 * Meant for label-less families such as `masque_vpn_total_connections`.
 */
export function sampleValue(exposition: string, name: string): number | undefined {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    const m = /^(?:\{[^}]*\})? (\S+)/.exec(rest);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/**
 * GETs `url` and returns the value of `name` in the exposition.
 * @throws Error on a non-200 answer, a connection error, or when `name` is not in it.
 */
export async function scrapeValue(url: string, name: string): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  const v = sampleValue(text, name);
  if (v === undefined) throw new Error(`GET ${url}: no ${name} in the exposition`);
  return v;
}
