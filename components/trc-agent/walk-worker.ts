import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { EvictionTracker } from './evictions.ts';
import { walkTree } from './tree-walk.ts';

/**
 * The worker thread that walks the caches (started by caches.ts): the agent's event loop, which serves
 * the scrapes, never spends a moment on a walk. It keeps each cache's files between walks (to count
 * evictions) and answers each request with figures only (a few numbers, whatever the cache's size).
 *
 * Request: {@link WalkRequest}. Answer: {@link WalkAnswer}, with the request's `id`.
 */

/** Walk the cache `key` at `dir`. */
export interface WalkRequest {
  readonly id: number;
  readonly key: string;
  readonly dir: string;
}

/** A finished walk: disk usage (bytes), the files it confirmed evicted (see evictions.ts), whether it was cut short. Or the root's error code. */
export type WalkAnswer =
  | { readonly id: number; readonly ok: true; readonly bytes: number; readonly evicted: number; readonly truncated: boolean }
  | { readonly id: number; readonly ok: false; readonly code: string };

const trackers = new Map<string, EvictionTracker>();

/**
 * Lowers this thread's scheduling priority to nice 19 (Linux keeps a nice value per thread, and
 * `/proc/thread-self` names this one): on a busy node the walks yield the CPU to the thread serving
 * scrapes and to the node's own work. Elsewhere, or when refused, the walks keep the process's priority.
 */
function niceThisThread(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {
    // not Linux, or not allowed: the default priority
  }
}

niceThisThread();

async function answer(req: WalkRequest): Promise<WalkAnswer> {
  try {
    // Nothing else runs on this thread: the walk needs no slices.
    const usage = await walkTree(req.dir, { sliceMs: Number.POSITIVE_INFINITY });
    let tracker = trackers.get(req.key);
    if (!tracker) trackers.set(req.key, (tracker = new EvictionTracker()));
    return { id: req.id, ok: true, bytes: usage.bytes, evicted: tracker.update(usage.files), truncated: usage.truncated };
  } catch (e) {
    return { id: req.id, ok: false, code: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
  }
}

parentPort?.on('message', (req: WalkRequest) => {
  void answer(req).then((a) => parentPort?.postMessage(a));
});
