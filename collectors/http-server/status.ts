import type { LabelsOf } from '../../instrumentation/recorders.ts';
import { trc } from '../../semconv/generated/trc.ts';

const family = trc.families.find((f) => f.name === 'trc_http_requests_total');
const KNOWN: ReadonlySet<string> = new Set(family?.labels.find((l) => l.name === 'status')?.values ?? []);

/** A `status` label value of the trc HTTP families. */
export type StatusLabel = LabelsOf<Extract<(typeof trc.families)[number], { name: 'trc_http_requests_total' }>>['status'];

/**
 * The response status as the trc contract labels it: the code as a string when the contract lists it
 * (RFC 9110 codes plus 429); any other code maps to the first code of its class (`418` → `400`,
 * `299` → `200`, `599` → `500`), so the request is still counted in the right class instead of being
 * dropped by the recorder. Codes outside 100-599 map to `500`.
 */
export function statusLabel(code: number | undefined): StatusLabel {
  const s = String(code);
  if (KNOWN.has(s)) return s as StatusLabel;
  const cls = code !== undefined && code >= 100 && code <= 599 ? Math.floor(code / 100) : 5;
  return `${cls}00` as StatusLabel;
}
