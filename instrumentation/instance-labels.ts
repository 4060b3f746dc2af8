import { hostname } from 'node:os';
import type { ContractSpec } from '../semconv/types.ts';

/**
 * Values of a contract's instance labels (egress `instance_id`; ops-proxy `node`, `pod`), read once
 * from the environment with the registry's fallback (hostname or empty).
 * Seed 000 "Instance identification"; seed 001 notes.
 */
export function resolveInstanceLabels(contract: ContractSpec, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of contract.instanceLabels) {
    const v = env[l.env];
    out[l.name] = v !== undefined && v !== '' ? v : l.fallback === 'hostname' ? hostname() : '';
  }
  return out;
}
