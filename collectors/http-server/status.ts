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
  if (code !== undefined && Number.isInteger(code) && code >= 100 && code <= 599) return BY_CODE[code - 100] as StatusLabel;
  return '500';
}

function labelOf(code: number): StatusLabel {
  const s = String(code);
  return (KNOWN.has(s) ? s : `${Math.floor(code / 100)}00`) as StatusLabel;
}
/** The label of every code from 100 to 599, computed once (the hot path is one array read). */
const BY_CODE: readonly StatusLabel[] = Array.from({ length: 500 }, (_, i) => labelOf(i + 100));
