import { randomUUID } from 'node:crypto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ContractSpec } from '../../semconv/types.ts';

/** Each contract's resolved instance labels, keyed by contract id (see `resolveInstanceLabels`). */
export type InstanceLabelsByContract = ReadonlyMap<string, Record<string, string>>;

/**
 * The pipeline's OTel resource: `service.name` from the component (overridden by `OTEL_SERVICE_NAME` /
 * `OTEL_RESOURCE_ATTRIBUTES`), `service.instance.id` from the first contract's instance label (egress
 * `instance_id`, ops-proxy `pod`), else a random UUID so that concurrent processes never share a series
 * through the collector; merged over the SDK's default resource (`telemetry.sdk.*`).
 *
 * @param env read for `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` instead of `process.env`.
 */
export function buildResource(serviceName: string, contracts: readonly ContractSpec[], instanceLabels: InstanceLabelsByContract, env: NodeJS.ProcessEnv): Resource {
  const instanceId = contracts
    .flatMap((c) => {
      const values = instanceLabels.get(c.id) ?? {};
      const preferred = c.instanceLabels.find((l) => l.name === 'instance_id' || l.name === 'pod');
      return preferred && values[preferred.name] ? [values[preferred.name] as string] : [];
    })
    .at(0);
  const fromEnv = withEnv(env, () => detectResources({ detectors: [envDetector] }));
  return defaultResource()
    .merge(resourceFromAttributes({ 'service.name': serviceName, 'service.instance.id': instanceId ?? randomUUID() }))
    .merge(fromEnv);
}

/**
 * Pushgateway grouping key (label name → value): the contracts' instance labels (egress `instance_id`),
 * else `instance_id` = the resource's `service.instance.id`.
 */
export function groupingKeyOf(contracts: readonly ContractSpec[], instanceLabels: InstanceLabelsByContract, resource: Resource): Record<string, string> {
  const key: Record<string, string> = {};
  for (const c of contracts) Object.assign(key, instanceLabels.get(c.id));
  if (Object.keys(key).length === 0) key.instance_id = String(resource.attributes['service.instance.id'] ?? '');
  return key;
}

/** envDetector reads process.env; point it at the pipeline's env for the duration of the call. */
function withEnv<T>(env: NodeJS.ProcessEnv, fn: () => T): T {
  if (env === process.env) return fn();
  const keys = ['OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES'] as const;
  const saved = keys.map((k) => process.env[k]);
  try {
    for (const k of keys) {
      if (env[k] === undefined) delete process.env[k];
      else process.env[k] = env[k];
    }
    return fn();
  } finally {
    keys.forEach((k, i) => {
      if (saved[i] === undefined) delete process.env[k];
      else process.env[k] = saved[i];
    });
  }
}
