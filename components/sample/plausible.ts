import type { ContractSpec, FamilySpec, LabelSpec } from '../../semconv/types.ts';

/** One measurement: labels and value, in the family's unit. */
export interface SampleMeasurement {
  readonly labels: Record<string, string>;
  readonly value: number;
}

const STRING_VALUES: Record<string, readonly string[]> = {
  client_name: ['billing-api', 'web-frontend'],
  client_id: ['client-a1', 'client-b2'],
  process_name: ['node', 'nginx'],
  namespace: ['default', 'payments'],
  path_template: ['/v1/orgs/{org_id}/apps', '/healthz'],
  endpoint: ['POST /v1/deployments', 'POST /v1/secrets'],
  query_class: ['event_append', 'projection_read'],
  command: ['deploy_app', 'scale_group'],
  projection: ['instances', 'routes'],
  mount: ['/', '/var/lib/trc'],
  listener_port: ['443', '80'],
  domain: ['api.example.com', 'pypi.org'],
  version: ['0.1.0'],
};

function valuesOf(label: LabelSpec): readonly string[] {
  return label.values ?? STRING_VALUES[label.name] ?? [`${label.name}-1`, `${label.name}-2`];
}

/**
 * Label combinations: every documented value of every label appears, each in one set with the other
 * labels at their first value (1 + the sum of (values - 1) sets), so a dashboard or alert that selects on
 * any enum member finds a series while `--contract all` stays a few thousand series.
 */
function labelSets(family: FamilySpec): Record<string, string>[] {
  const base: Record<string, string> = {};
  for (const l of family.labels) base[l.name] = valuesOf(l)[0] as string;
  const sets = [base];
  for (const l of family.labels) for (const v of valuesOf(l).slice(1)) sets.push({ ...base, [l.name]: v });
  return sets;
}

/**
 * Plausible, deterministic measurements for every family of a contract: counters get whole-number
 * increments, gauges a value that fits the name (0/1 for info, status and up; seconds or bytes
 * otherwise), histograms a spread of observations inside the documented buckets.
 */
export function plausibleMeasurements(contract: ContractSpec): Map<FamilySpec, SampleMeasurement[]> {
  const out = new Map<FamilySpec, SampleMeasurement[]>();
  for (const family of contract.families) {
    const measurements: SampleMeasurement[] = [];
    labelSets(family).forEach((labels, i) => {
      if (family.instrument === 'histogram') {
        const buckets = family.buckets ?? [1];
        for (let k = 0; k < buckets.length; k += 3) measurements.push({ labels, value: (buckets[k] as number) * 0.9 });
      } else {
        measurements.push({ labels, value: gaugeOrCounterValue(family, i) });
      }
    });
    out.set(family, measurements);
  }
  return out;
}

function gaugeOrCounterValue(family: FamilySpec, i: number): number {
  const n = family.name;
  if (family.instrument === 'counter') return (n.endsWith('_bytes_total') || n.includes('bytes') ? 4096 : 7) * (i + 1);
  if (/_(info|up|status|enforcement_mode|pressure)$/.test(n) || n.endsWith('_enabled_routes')) return 1;
  if (n.endsWith('_percent')) return 42.5;
  if (n.endsWith('_alert_level')) return 1;
  if (n.endsWith('_seconds') || n.includes('_seconds_')) return 0.012 * (i + 1);
  if (n.includes('bytes')) return 1_048_576 * (i + 1);
  return 3 * (i + 1);
}
