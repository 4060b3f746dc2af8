/**
 * Families a document gives more than one TYPE for, read from the seed (the registry records the one
 * TYPE otel-contracts exposes): an implementation is right with any of them.
 */
import type { ObservedType } from '../model.ts';

/** One family and the TYPEs its document allows, with the document's words. */
export interface TypeAlternatives {
  readonly contract: string;
  readonly family: string;
  readonly types: readonly ObservedType[];
  readonly quote: string;
}

/** egress seed 000, section 1: "| `opensandbox_egress_dns_forward_duration_seconds` | Histogram / Summary |". */
export const TYPE_ALTERNATIVES: readonly TypeAlternatives[] = [
  { contract: 'egress', family: 'opensandbox_egress_dns_forward_duration_seconds', types: ['histogram', 'summary'], quote: '| `opensandbox_egress_dns_forward_duration_seconds` | Histogram / Summary |' },
];

const byFamily = new Map(TYPE_ALTERNATIVES.map((t) => [t.family, t]));

/** The TYPEs a documented family may be exposed as: its alternatives, or its one documented TYPE. */
export function acceptedTypes(family: string, documented: ObservedType): readonly ObservedType[] {
  return byFamily.get(family)?.types ?? [documented];
}
