import { trc } from '../../semconv/generated/trc.ts';
import { sliceByComponent } from '../../semconv/index.ts';

/**
 * The part of the trc contract (seed 002) the edge serves: the 12 families of section F, "Edge ingress"
 * (registry component `edge`), all named `trc_edge_*`. The edge's `/metrics` exposes these (each with HELP and TYPE from the first
 * scrape), not the control plane's, scheduler's or agent's: the seed's first compliance test asks each
 * component for its own required families. The contract keeps the id `trc`, so its instance label
 * (`node_id`, from `TRC_NODE_ID`) and `otel-contracts check --contract trc --component edge` apply unchanged.
 */

/** One documented `trc_edge_*` family, with its exact name, labels and enum members as types. */
export type EdgeFamily = Extract<(typeof trc)['families'][number], { readonly name: `trc_edge_${string}` }>;

/** The trc contract restricted to {@link EdgeFamily}: typed recorders of it know the edge families only. */
export interface EdgeContract extends Omit<typeof trc, 'families'> {
  readonly families: readonly EdgeFamily[];
}

/** The edge's contract: seed 002 section F. */
export const trcEdge = sliceByComponent(trc, new Set(['edge'])) as EdgeContract;
