/**
 * Push of the exposition to a Prometheus Pushgateway: the egress sidecar's alternative push target
 * (seed 000, "Exposure": "push on exit ... e.g. Pushgateway"). The URL path is the grouping key:
 * `job` and then each label, here `instance_id`, so that instances never share a group. PUT replaces the
 * group, which is what a cumulative final push wants.
 */

/** Builds `${base}/metrics/job/<job>/<label>/<value>...`, percent-encoding each part (base64 form for empty values). */
export function pushgatewayUrl(base: string, job: string, groupingKey: Readonly<Record<string, string>>): string {
  let url = `${base.replace(/\/+$/, '')}/metrics/job/${encodeURIComponent(job)}`;
  for (const [k, v] of Object.entries(groupingKey)) {
    url += v === '' ? `/${k}@base64/=` : `/${k}/${encodeURIComponent(v)}`;
  }
  return url;
}

/**
 * PUTs one exposition to the Pushgateway.
 * @param timeoutMs abort after this many milliseconds.
 * @throws Error naming the URL and the HTTP status (or the connection error) when the push is refused.
 */
export async function pushExposition(url: string, body: string, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'PUT',
      body,
      headers: { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new Error(`Pushgateway push to ${url} failed: ${(e as Error).cause ? String((e as Error).cause) : (e as Error).message}`);
  }
  if (!res.ok) throw new Error(`Pushgateway push to ${url} refused: HTTP ${res.status} ${(await res.text()).trim().slice(0, 300)}`);
}
