import type { LabelsOf } from '../../instrumentation/recorders.ts';
import { trc } from '../../semconv/generated/trc.ts';
import { sliceByComponent } from '../../semconv/index.ts';
import type { FamilySpec } from '../../semconv/types.ts';

/**
 * The part of the trc contract (seed 002) a node agent serves: the families of section E, "Node agent"
 * (registry component `agent`), all named `trc_agent_*`. The agent's `/metrics` exposes these (each with its HELP and TYPE from the
 * first scrape), not the control plane's, scheduler's or edge's: the seed's compliance test asks each
 * component for its own required families. The contract keeps the id `trc`, so its instance label
 * (`node_id`, from `TRC_NODE_ID`) and `otel-contracts check --contract trc` apply unchanged.
 */

/** One documented `trc_agent_*` family, with its exact name, labels and enum members as types. */
export type AgentFamily = Extract<(typeof trc)['families'][number], { readonly name: `trc_agent_${string}` }>;

/** The trc contract restricted to {@link AgentFamily}: typed recorders of it know the agent families only. */
export interface AgentContract extends Omit<typeof trc, 'families'> {
  readonly families: readonly AgentFamily[];
}

/** The node agent's contract: seed 002 section E. */
export const trcAgent = sliceByComponent(trc, new Set(['agent'])) as AgentContract;

type FamilyNamed<N extends AgentFamily['name']> = Extract<AgentFamily, { readonly name: N }>;

/** `kind` of `trc_agent_cache_bytes` and `trc_agent_cache_evictions_total`: `oci`, `rootdisks`, `tmp`. */
export type CacheKind = LabelsOf<FamilyNamed<'trc_agent_cache_bytes'>>['kind'];
/** `kind` of `trc_agent_disk_pressure`: `disk`, `inodes`, `volume_pool`. */
export type PressureKind = LabelsOf<FamilyNamed<'trc_agent_disk_pressure'>>['kind'];

/** The enum members of label `label` of family `name`, as the registry lists them. @throws Error when the registry has none. */
function membersOf(name: AgentFamily['name'], label: string): readonly string[] {
  const family: FamilySpec | undefined = trcAgent.families.find((f) => f.name === name);
  const values = family?.labels.find((l) => l.name === label)?.values;
  if (!values) throw new Error(`the trc registry lists no values for ${name}{${label}}`);
  return values;
}

/** Every cache kind, in registry order. */
export const CACHE_KINDS = membersOf('trc_agent_cache_bytes', 'kind') as readonly CacheKind[];
/** Every pressure kind, in registry order. */
export const PRESSURE_KINDS = membersOf('trc_agent_disk_pressure', 'kind') as readonly PressureKind[];
/** Most `mount` values `trc_agent_disk_free_bytes` may carry (the registry's cardinality limit). */
export const MAX_MOUNTS = (trcAgent.families.find((f) => f.name === 'trc_agent_disk_free_bytes') as FamilySpec | undefined)?.labels[0]?.cardinalityLimit ?? 16;
