/**
 * bpftrace's JSON output (`-f json`), one document a line:
 * `{"type": "attached_probes", "data": {"probes": N}}`, `{"type": "map"|"stats", "data": {"@name": {key: value}}}`,
 * `{"type": "printf", "data": "text"}`, `{"type": "lost_events", ...}`. Keys of multi-key maps are their
 * parts joined with commas; values are numbers (count, sum, plain) or `{count, average, total}` (stats).
 */

/** One line of bpftrace output, read. */
export type BpftraceLine =
  | { readonly kind: 'attached'; readonly probes: number }
  | { readonly kind: 'map'; readonly name: string; readonly entries: ReadonlyMap<string, MapValue> }
  | { readonly kind: 'printf'; readonly text: string }
  | { readonly kind: 'lost'; readonly events: number }
  | { readonly kind: 'other'; readonly type: string };

/** A map value: a plain number, or the count and exact total of `stats()`. */
export type MapValue = number | { readonly count: number; readonly total: number };

/** Reads one line; undefined for a blank or non-JSON line (bpftrace prints blank lines around exit dumps). */
export function parseLine(line: string): BpftraceLine | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  let doc: { type?: unknown; data?: unknown };
  try {
    doc = JSON.parse(t) as { type?: unknown; data?: unknown };
  } catch {
    return undefined;
  }
  const type = String(doc.type);
  const data = doc.data;
  if (type === 'attached_probes') return { kind: 'attached', probes: Number((data as { probes?: unknown })?.probes ?? 0) };
  if (type === 'printf') return { kind: 'printf', text: String(data ?? '') };
  if (type === 'lost_events') return { kind: 'lost', events: Number((data as { events?: unknown })?.events ?? 0) };
  if ((type === 'map' || type === 'stats') && data && typeof data === 'object') {
    const [name, raw] = Object.entries(data as Record<string, unknown>)[0] ?? [];
    if (name === undefined || !raw || typeof raw !== 'object') return { kind: 'map', name: name ?? '', entries: new Map() };
    const entries = new Map<string, MapValue>();
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof v === 'number') entries.set(k, v);
      else if (v && typeof v === 'object' && typeof (v as { count?: unknown }).count === 'number') {
        entries.set(k, { count: (v as { count: number }).count, total: Number((v as { total?: unknown }).total ?? 0) });
      }
    }
    return { kind: 'map', name, entries };
  }
  return { kind: 'other', type };
}

/**
 * Splits a map key whose first part is a process name (which may itself hold commas) and whose last
 * `numeric` parts are integers. Undefined when the key does not have that shape.
 */
export function splitKey(key: string, numeric: number): { readonly name: string; readonly parts: readonly number[] } | undefined {
  const all = key.split(',');
  if (all.length < numeric + 1) return undefined;
  const parts = all.slice(all.length - numeric).map(Number);
  if (parts.some((n) => !Number.isInteger(n))) return undefined;
  return { name: all.slice(0, all.length - numeric).join(','), parts };
}
