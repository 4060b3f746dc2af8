import type { ParsedFamily, ParsedSample } from './exposition.ts';

/** The label every gauge series carries in the aggregate: the Node `cluster` worker id (`0` for the primary). */
export const WORKER_ID_LABEL = 'worker_id';

/** One process's exposition, parsed, and who it comes from. */
export interface Member {
  /** `cluster.worker.id` as a string; `0` for the primary. */
  readonly workerId: string;
  readonly families: readonly ParsedFamily[];
}

/** Counter and histogram samples kept from workers that exited, by family (see {@link retire}). */
export interface Retired {
  readonly families: Map<string, ParsedFamily>;
}

/** An empty {@link Retired}. */
export function createRetired(): Retired {
  return { families: new Map() };
}

const key = (s: ParsedSample) => `${s.name}\u0000${[...s.labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('\u0000')}`;
const summed = (type: string) => type === 'counter' || type === 'histogram';

/**
 * Adds the counter and histogram samples of an exited worker's last exposition into `retired`, so the
 * aggregate never goes down when a worker dies: what was already scraped from it stays in the sums.
 * Its gauges are dropped (its series stop).
 */
export function retire(retired: Retired, member: Member): void {
  for (const f of member.families) {
    if (!summed(f.type)) continue;
    let into = retired.families.get(f.name);
    if (!into) {
      into = { name: f.name, type: f.type, help: f.help, samples: [] };
      retired.families.set(f.name, into);
    }
    addInto(into, f.samples);
  }
}

function addInto(into: ParsedFamily, samples: readonly ParsedSample[]): void {
  const index = new Map(into.samples.map((s, i) => [key(s), i]));
  for (const s of samples) {
    const k = key(s);
    const i = index.get(k);
    if (i === undefined) {
      index.set(k, into.samples.length);
      into.samples.push({ ...s });
    } else {
      const prior = into.samples[i] as ParsedSample;
      into.samples[i] = { ...prior, value: prior.value + s.value };
    }
  }
}

/**
 * The cluster's one exposition, in the style of prom-client's `AggregatorRegistry` (counters summed across
 * workers) with per-worker gauges: counters and histograms (`_bucket`, `_sum`, `_count`) summed by label set
 * over the members and the retired workers; gauges kept per member with a `worker_id` label added (the
 * primary's as `0`), since a sum of gauges (memory, open descriptors, last latencies) means nothing.
 * Families keep the order in which they are first seen; HELP and TYPE come from their first appearance.
 */
export function mergeMembers(members: readonly Member[], retired: Retired): ParsedFamily[] {
  const out = new Map<string, ParsedFamily>();
  const familyOf = (f: ParsedFamily) => {
    let into = out.get(f.name);
    if (!into) {
      into = { name: f.name, type: f.type, help: f.help, samples: [] };
      out.set(f.name, into);
    }
    return into;
  };
  for (const m of members) {
    for (const f of m.families) {
      const into = familyOf(f);
      if (into.type !== f.type) continue; // a worker disagreeing on a family's type is left out of it
      if (summed(f.type)) addInto(into, f.samples);
      else for (const s of f.samples) into.samples.push({ ...s, labels: [...s.labels.filter(([k]) => k !== WORKER_ID_LABEL), [WORKER_ID_LABEL, m.workerId]] });
    }
  }
  for (const f of retired.families.values()) {
    const into = familyOf(f);
    if (into.type === f.type) addInto(into, f.samples);
  }
  return [...out.values()];
}
