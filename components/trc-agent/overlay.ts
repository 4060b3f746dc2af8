import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProblemLog } from './report-once.ts';
import { parseWgDump, type WgPeer } from './wg-dump.ts';

/**
 * The background reader behind `trc_agent_overlay_peers` and `trc_agent_overlay_handshake_age_seconds_max`
 * (seed 002 section E, "Heartbeat and connectivity"): every interval, `wg show <if> dump` for each
 * `--wg-interface` (wireguard-tools; kernel interfaces and userspace ones such as `wireguard-go` alike).
 * A scrape runs no process: it counts the peers of the last read and computes the handshake ages against
 * the clock at that moment, so an age grows between two reads as it does on the node.
 *
 * - `wg` missing: one line naming the package to install; the two families have no series (until `wg`
 *   appears: it is looked for again at every read);
 * - an interface that cannot be read (gone, no permission) is reported once and counts no peers;
 * - a malformed dump line is skipped, counted ({@link OverlayWatcher.malformedLines}) and reported;
 * - a peer that never completed a handshake is as old as the time since the agent first saw it (a lower
 *   bound of its true age, which keeps growing), so a peer that never connects still trips an age alert.
 */

/** What the overlay families record at a collection. */
export interface OverlayReading {
  /** Peers configured on the interfaces read (`trc_agent_overlay_peers`). */
  readonly peers: number;
  /** Age in seconds of the oldest latest handshake among them; 0 without peers. */
  readonly handshakeAgeMaxSeconds: number;
}

/** Options of {@link startOverlayWatcher}. */
export interface OverlayOptions {
  readonly interfaces: readonly string[];
  /** Pause between two reads (ms). */
  readonly intervalMs: number;
  readonly problems: ProblemLog;
  /** The wireguard-tools command. Default `wg`, looked up on PATH. */
  readonly wgCommand?: string;
  /** Bound on one `wg show` (ms); it is killed past it. Default 5000. */
  readonly timeoutMs?: number;
}

/** A running overlay reader. */
export interface OverlayWatcher {
  /** Resolves when every interface has been read once (or found unreadable). Never rejects. */
  readonly firstRead: Promise<void>;
  /** The figures at `nowMs` (Unix ms), or undefined while no interface has ever been read (the families stay without series). */
  reading(nowMs: number): OverlayReading | undefined;
  /** Dump lines skipped as malformed since start. */
  malformedLines(): number;
  /** Reads finished so far. */
  reads(): number;
  stop(): Promise<void>;
}

/** One interface: its peers at the last good read (undefined while it cannot be read) and when never-handshaken peers were first seen. */
interface InterfaceState {
  readonly name: string;
  peers: readonly WgPeer[] | undefined;
  readonly firstSeen: Map<string, number>;
}

type WgResult = { ok: true; stdout: string } | { ok: false; missing: boolean; reason: string };

function runWg(command: string, name: string, timeoutMs: number, signal: AbortSignal): Promise<WgResult> {
  return new Promise((resolve) => {
    execFile(command, ['show', name, 'dump'], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20, encoding: 'utf8', signal }, (err, stdout, stderr) => {
      if (!err) return resolve({ ok: true, stdout });
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === 'ENOENT' && e.syscall?.startsWith('spawn')) return resolve({ ok: false, missing: true, reason: 'not found' });
      const reason = e.killed ? `no answer within ${timeoutMs} ms` : stderr.trim().split('\n')[0] || e.message;
      resolve({ ok: false, missing: false, reason });
    });
  });
}

/** Ages in seconds of the peers of `s` at `nowMs`. */
function agesOf(s: InterfaceState, nowMs: number): number[] {
  return (s.peers ?? []).map((p) => (p.latestHandshake > 0 ? nowMs / 1000 - p.latestHandshake : (nowMs - (s.firstSeen.get(p.publicKey) ?? nowMs)) / 1000));
}

/** Starts reading `opts.interfaces` (none: nothing runs and {@link OverlayWatcher.reading} stays undefined). */
export function startOverlayWatcher(opts: OverlayOptions): OverlayWatcher {
  const command = opts.wgCommand ?? 'wg';
  const timeoutMs = opts.timeoutMs ?? 5000;
  const states: InterfaceState[] = opts.interfaces.map((name) => ({ name, peers: undefined, firstSeen: new Map() }));
  const abort = new AbortController();
  let everRead = false;
  let malformed = 0;
  let reads = 0;

  async function readInterface(s: InterfaceState): Promise<boolean> {
    const r = await runWg(command, s.name, timeoutMs, abort.signal);
    if (!r.ok && r.missing) {
      opts.problems.fail('wg', `\`${command}\` not found: install Debian's wireguard-tools (apt-get install wireguard-tools, or npm run provision); trc_agent_overlay_peers and trc_agent_overlay_handshake_age_seconds_max have no series until then`);
      return false;
    }
    opts.problems.ok('wg');
    const subject = `--wg-interface ${s.name}`;
    if (!r.ok) {
      s.peers = undefined;
      opts.problems.fail(subject, `${subject} cannot be read (wg show ${s.name} dump: ${r.reason}); it counts no peers until it can`);
      return true;
    }
    const dump = parseWgDump(r.stdout);
    opts.problems.ok(subject);
    malformed += dump.malformed.length;
    if (dump.malformed.length > 0) {
      opts.problems.fail(`${subject} dump`, `wg show ${s.name} dump: skipped ${dump.malformed.length} malformed line(s); ${malformed} since start`, { lines: dump.malformed });
    } else opts.problems.ok(`${subject} dump`);
    const now = Date.now();
    const never = new Set(dump.peers.filter((p) => p.latestHandshake === 0).map((p) => p.publicKey));
    for (const key of s.firstSeen.keys()) if (!never.has(key)) s.firstSeen.delete(key);
    for (const key of never) if (!s.firstSeen.has(key)) s.firstSeen.set(key, now);
    s.peers = dump.peers;
    everRead = true;
    return true;
  }

  let firstDone: () => void = () => undefined;
  const firstRead = new Promise<void>((resolve) => (firstDone = resolve));
  const loop = (async () => {
    while (!abort.signal.aborted && states.length > 0) {
      // Interfaces one after the other; a missing `wg` ends the round (the others would not find it either).
      for (const s of states) if (abort.signal.aborted || !(await readInterface(s))) break;
      reads++;
      firstDone();
      await sleep(opts.intervalMs, undefined, { signal: abort.signal, ref: false }).catch(() => undefined);
    }
    firstDone();
  })();

  return {
    firstRead,
    reading(nowMs) {
      if (!everRead) return undefined;
      const ages = states.flatMap((s) => agesOf(s, nowMs));
      return { peers: ages.length, handshakeAgeMaxSeconds: Math.max(0, ...ages) };
    },
    malformedLines: () => malformed,
    reads: () => reads,
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
