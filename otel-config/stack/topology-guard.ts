// One topology at a time in a state directory: both listen on the OTLP ports, and `status` / `down` act on
// the one recorded in .stack/topology.json. `up` claims the directory for its topology; a full `down` (or a
// start that failed before anything ran) releases it.
import { runningParts } from './pid-files.ts';
import { StackError } from './parts.ts';
import type { Resolved } from './parts.ts';
import { readTopologyRecord, removeTopologyRecord, writeTopologyRecord } from './topology-record.ts';
import { topologyOfRole } from './topology.ts';
import type { ScaledLayout } from './topology.ts';

function describeLayout(l: ScaledLayout): string {
  return `${l.gateways} gateways, ${l.backends} backends, ${l.shards} shards${l.portOffset ? `, port offset ${l.portOffset}` : ''}`;
}

function sameLayout(a: ScaledLayout | undefined, b: ScaledLayout | null): boolean {
  return !!a && !!b && a.gateways === b.gateways && a.backends === b.backends && a.shards === b.shards && a.portOffset === b.portOffset;
}

/**
 * Makes the state directory `r`'s topology's: records a scaled layout (the single-node topology leaves
 * no record, as before there were two), or forgets a stale record.
 * @throws StackError when processes of the other topology run there, or a scaled topology with another
 *   layout does; nothing is started then.
 */
export function claimTopology(r: Resolved): void {
  const running = runningParts(r);
  const other = running.filter((n) => topologyOfRole(n) !== r.topology);
  if (other.length) {
    const which = r.topology === 'scaled' ? 'single-node' : 'scaled';
    throw new StackError('stack', `the ${which} topology is up (${other.join(', ')}) and holds the OTLP ports`, 'stop it first with `otel-contracts stack down`');
  }
  const rec = readTopologyRecord(r.stateDir);
  if (r.topology === 'scaled') {
    if (rec?.topology === 'scaled' && running.length && !sameLayout(rec.layout, r.layout)) {
      throw new StackError('stack', `a scaled topology with ${describeLayout(rec.layout!)} is up`, 'stop it first with `otel-contracts stack down`, or start it without other counts');
    }
    writeTopologyRecord(r.stateDir, 'scaled', r.layout!);
  } else if (rec) {
    removeTopologyRecord(r.stateDir);
  }
}

/** Forgets the recorded topology once none of its processes runs (after a full `down`, or a failed start). */
export function releaseTopology(r: Resolved): void {
  if (runningParts(r).length === 0) removeTopologyRecord(r.stateDir);
}
