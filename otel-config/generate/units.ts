/**
 * Grafana units for the registry's UCUM units (`s`, `By`, `1`, `%`), for a value as recorded and
 * for its per-second rate.
 */
import type { FamilySpec } from '../../semconv/types.ts';

const VALUE_UNITS: Record<string, string> = { s: 's', By: 'bytes', '1': 'short', '%': 'percent' };
const RATE_UNITS: Record<string, string> = { s: 'percentunit', By: 'Bps', '1': 'ops', '%': 'short' };

/**
 * The Grafana unit of a family's panel: its value unit for gauges and histogram quantiles, its
 * per-second unit for counters (shown as rates).
 * @throws Error naming the family when the registry uses a unit this table does not know.
 */
export function grafanaUnit(family: FamilySpec): string {
  const table = family.type === 'counter' ? RATE_UNITS : VALUE_UNITS;
  const unit = table[family.unit];
  if (!unit) throw new Error(`${family.name}: no Grafana unit for UCUM unit "${family.unit}"; add it to otel-config/generate/units.ts`);
  return unit;
}
