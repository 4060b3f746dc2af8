/**
 * The trc components `check --contract trc --component <name>` audits one at a time. The trc spec's
 * first compliance test is per component ("Each component exposes /metrics and includes the required
 * metric families"), and its "Required metrics by component" sections say whose families are whose.
 */

/** One trc component and the spec sections (by their letter) whose families it must expose. */
export interface TrcComponent {
  readonly name: string;
  /** Section letters of seed 002 ("A) Control plane API" is `A`). */
  readonly sections: readonly string[];
  readonly brief: string;
}

/** control-plane (A, B), projections (C), scheduler (D), agent (E), edge (F). */
export const TRC_COMPONENTS: readonly TrcComponent[] = [
  { name: 'control-plane', sections: ['A', 'B'], brief: 'control plane API and event append / command handling (sections A and B)' },
  { name: 'projections', sections: ['C'], brief: 'projection workers (section C)' },
  { name: 'scheduler', sections: ['D'], brief: 'scheduler (section D)' },
  { name: 'agent', sections: ['E'], brief: 'node agent (section E)' },
  { name: 'edge', sections: ['F'], brief: 'edge ingress (section F)' },
];

/** The component names `--component` accepts. */
export const TRC_COMPONENT_NAMES: readonly string[] = TRC_COMPONENTS.map((c) => c.name);

/**
 * The component named `name`.
 * @throws Error naming the accepted names when there is none.
 */
export function trcComponent(name: string): TrcComponent {
  const c = TRC_COMPONENTS.find((x) => x.name === name);
  if (!c) throw new Error(`unknown trc component "${name}": expected one of ${TRC_COMPONENT_NAMES.join(', ')}`);
  return c;
}

/** True when a trc family's section (`"D) Scheduler / Rollout"`) belongs to the component. */
export function inComponent(component: TrcComponent, section: string): boolean {
  const letter = /^([A-Z])\)/.exec(section)?.[1];
  return letter !== undefined && component.sections.includes(letter);
}
