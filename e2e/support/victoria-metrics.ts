/**
 * Reading a VictoriaMetrics shard: its raw samples (`/api/v1/export`, one JSON line per series with every
 * stored value and timestamp) and instant queries (`/api/v1/query`, the Prometheus API).
 */

/** One series as `/api/v1/export` returns it. */
export interface ExportedSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly number[];
  readonly timestamps: readonly number[];
}

/**
 * Every stored sample of the series matching `match` (a series selector such as `{job="x"}`), read as a
 * stream of JSON lines.
 * @throws Error with the HTTP status and VictoriaMetrics' message.
 */
export async function exportSeries(shardUrl: string, match: string, timeoutMs = 60_000): Promise<ExportedSeries[]> {
  const url = `${shardUrl}/api/v1/export?match[]=${encodeURIComponent(match)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok || !res.body) throw new Error(`export ${match} from ${shardUrl}: HTTP ${res.status} ${await res.text()}`);
  const out: ExportedSeries[] = [];
  let rest = '';
  for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line) out.push(JSON.parse(line) as ExportedSeries);
  }
  if (rest) out.push(JSON.parse(rest) as ExportedSeries);
  return out;
}

/** One series of an instant vector. */
export interface VmSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * An instant query (`/api/v1/query`) on one shard.
 * @throws Error with the HTTP status and the error text, or when the result is not a vector.
 */
export async function vmInstantQuery(shardUrl: string, expr: string, timeoutMs = 30_000): Promise<VmSample[]> {
  const res = await fetch(`${shardUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (!res.ok || body.status !== 'success' || !body.data) throw new Error(`query ${expr} on ${shardUrl}: HTTP ${res.status} ${body.error ?? ''}`);
  if (body.data.resultType !== 'vector') throw new Error(`query ${expr} on ${shardUrl}: expected a vector, got ${body.data.resultType}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}
