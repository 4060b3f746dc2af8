// .stack/topology.json: which topology `up` last started in a state directory, and its layout, so that
// `status` and `down` (from any process, without flags) act on the processes that are actually there.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scaledLayout } from './topology.ts';
import type { ScaledLayout, Topology } from './topology.ts';

/** What topology.json holds. */
export interface TopologyRecord {
  readonly topology: Topology;
  /** The scaled topology's layout; absent for `single`. */
  readonly layout?: ScaledLayout;
  readonly startedAt: string;
}

/** The record's path in `stateDir`. */
export function topologyFile(stateDir: string): string {
  return join(stateDir, 'topology.json');
}

/** The record in `stateDir`, or null when there is none or it is unreadable (then: the single-node topology). */
export function readTopologyRecord(stateDir: string): TopologyRecord | null {
  const file = topologyFile(stateDir);
  if (!existsSync(file)) return null;
  try {
    const rec = JSON.parse(readFileSync(file, 'utf8')) as TopologyRecord;
    if (rec.topology === 'scaled') return { ...rec, layout: scaledLayout(rec.layout) };
    if (rec.topology === 'single') return rec;
  } catch {
    // unreadable: treated as absent
  }
  return null;
}

/** Records that `topology` (with `layout`) is being started in `stateDir`. */
export function writeTopologyRecord(stateDir: string, topology: Topology, layout?: ScaledLayout): void {
  const rec: TopologyRecord = { topology, ...(layout ? { layout } : {}), startedAt: new Date().toISOString() };
  writeFileSync(topologyFile(stateDir), `${JSON.stringify(rec, null, 2)}\n`);
}

/** Forgets the record (after `down`). */
export function removeTopologyRecord(stateDir: string): void {
  rmSync(topologyFile(stateDir), { force: true });
}
