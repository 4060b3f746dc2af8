/**
 * The components `check --contract trc --component <name>` audits one at a time. The trc spec's first
 * compliance test is per component ("Each component exposes /metrics and includes the required metric
 * families"); which family is whose is the registry's `component` annotation on each trc family
 * (control-plane: sections A and B, projections: C, scheduler: D, agent: E, edge: F).
 */
import { trc } from '../../semconv/index.ts';
import type { ContractSpec } from '../../semconv/types.ts';

/** One component of a contract: the name `--component` takes, and the top-level sections of its families. */
export interface ContractComponent {
  readonly name: string;
  /** The top-level document sections of its families, in registry order (`A) Control plane API`). */
  readonly sections: readonly string[];
}

/** The components a contract's families name, in the order they first appear; empty when it names none. */
export function componentsOf(contract: ContractSpec): ContractComponent[] {
  const sections = new Map<string, string[]>();
  for (const f of contract.families) {
    if (f.component === undefined) continue;
    const list = sections.get(f.component) ?? [];
    const top = f.section.split(' / ')[0] as string;
    if (!list.includes(top)) list.push(top);
    sections.set(f.component, list);
  }
  return [...sections].map(([name, s]) => ({ name, sections: s }));
}

/**
 * The component of `contract` named `name`.
 * @throws Error naming the accepted names when there is none.
 */
export function componentOf(contract: ContractSpec, name: string): ContractComponent {
  const all = componentsOf(contract);
  const c = all.find((x) => x.name === name);
  if (!c) throw new Error(`unknown ${contract.id} component "${name}": expected one of ${all.map((x) => x.name).join(', ')}`);
  return c;
}

/** The component names `--component` accepts: those of the trc registry. */
export const TRC_COMPONENT_NAMES: readonly string[] = componentsOf(trc).map((c) => c.name);
