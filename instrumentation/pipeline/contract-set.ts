import { self as selfContract } from '../../semconv/generated/self.ts';
import type { ContractSpec } from '../../semconv/types.ts';

/**
 * The contracts a pipeline holds: the requested ones in order, then the self-metrics contract
 * (`otel_contracts_*`), each contract id once (the first occurrence wins).
 *
 * @throws Error when two of the contracts declare the same family name (one name, one contract).
 */
export function contractSetOf(requested: readonly ContractSpec[]): ContractSpec[] {
  const contracts = dedupe([...requested, selfContract]);
  assertUniqueFamilies(contracts);
  return contracts;
}

function dedupe(contracts: ContractSpec[]): ContractSpec[] {
  const seen = new Map<string, ContractSpec>();
  for (const c of contracts) if (!seen.has(c.id)) seen.set(c.id, c);
  return [...seen.values()];
}

function assertUniqueFamilies(contracts: readonly ContractSpec[]): void {
  const owner = new Map<string, string>();
  for (const c of contracts) {
    for (const f of c.families) {
      const prior = owner.get(f.name);
      if (prior) throw new Error(`family "${f.name}" is declared by contracts ${prior} and ${c.id}; one name, one contract`);
      owner.set(f.name, c.id);
    }
  }
}
