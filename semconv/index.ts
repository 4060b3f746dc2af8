/**
 * The checked-in contracts, generated from `semconv/*.yaml` (run `npm run gen` after editing a registry).
 * Import a contract to get typed recorders: `pipeline.recorders(egress).opensandbox_egress_dns_queries_total.add(1, { result: 'allowed' })`.
 * The YAML loader (ajv, yaml) is a separate entry, `otel-contracts/semconv/load`, so that using the
 * contracts never loads it.
 */
import { egress } from './generated/egress.ts';
import { opsProxy } from './generated/ops-proxy.ts';
import { trc } from './generated/trc.ts';
import { podtrace } from './generated/podtrace.ts';
import { masqueVpn } from './generated/masque-vpn.ts';
import { self } from './generated/self.ts';
// Exported as `processContract`: a binding named `process` would shadow Node's global in every importer.
import { process as processContract } from './generated/process.ts';
import type { ContractSpec } from './types.ts';

export { egress, opsProxy, trc, podtrace, masqueVpn, self, processContract };
export type * from './types.ts';
export { prometheusTypeOf } from './types.ts';
export { instanceLabelsOf, instanceLabelAppliesTo } from './instance-scope.ts';

/** The five documented component contracts, by the id the CLI's `--contract` takes. */
export const componentContracts = {
  egress,
  'ops-proxy': opsProxy,
  trc,
  podtrace,
  'masque-vpn': masqueVpn,
} as const satisfies Record<string, ContractSpec>;

/**
 * The families of `contract` that belong to one of `components` (the registry's `component` annotation:
 * trc's `control-plane`, `projections`, `scheduler`, `agent`, `edge`), plus those `alsoKeep` names, under
 * the contract's own id, so its instance labels, typed recorders and `check --contract` apply unchanged.
 */
export function sliceByComponent<C extends ContractSpec>(contract: C, components: ReadonlySet<string>, alsoKeep: (name: string) => boolean = () => false): C {
  return { ...contract, families: contract.families.filter((f) => (f.component !== undefined && components.has(f.component)) || alsoKeep(f.name)) };
}

/** A `--contract` value. */
export type ComponentContractId = keyof typeof componentContracts;

/**
 * Resolves a `--contract` value (`egress`, `ops-proxy`, `trc`, `podtrace`, `masque-vpn` or `all`) to contracts.
 * @throws Error naming the accepted values when the id is unknown.
 */
export function selectContracts(id: string): ContractSpec[] {
  if (id === 'all') return Object.values(componentContracts);
  const c = (componentContracts as Record<string, ContractSpec>)[id];
  if (!c) throw new Error(`unknown contract "${id}": expected one of ${[...Object.keys(componentContracts), 'all'].join(', ')}`);
  return [c];
}
