import { Worker } from 'node:worker_threads';
import type { WalkAnswer, WalkRequest } from './walk-worker.ts';

/**
 * The agent's side of the cache-walking worker thread (walk-worker.ts): one thread, started on the first
 * walk, one request at a time per caller. The thread keeps the process alive only while a walk is asked
 * for. If it fails or exits, the walks waiting on it answer with the reason and the next walk starts a
 * new thread (whose first walk of each cache counts no evictions: the previous files were the old thread's).
 */

/** The source file or the built one, beside this module (`.ts` in a clone, `.js` in the package). */
const WORKER_URL = new URL(`./walk-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** A worker thread walking cache directories. */
export interface WalkerThread {
  /** Walks `dir` as the cache `key`. Never rejects: a failure is an answer with `ok: false`. */
  walk(key: string, dir: string): Promise<WalkAnswer>;
  /** Terminates the thread; walks in progress answer `ok: false`. */
  stop(): Promise<void>;
}

/** A {@link WalkerThread}; no thread runs until the first walk. */
export function createWalkerThread(): WalkerThread {
  let worker: Worker | undefined;
  const pending = new Map<number, (a: WalkAnswer) => void>();
  let nextId = 0;

  const settle = (a: WalkAnswer) => {
    pending.get(a.id)?.(a);
    pending.delete(a.id);
    if (pending.size === 0) worker?.unref();
  };

  function spawn(): Worker {
    const w = new Worker(WORKER_URL);
    const fail = (reason: string) => {
      if (worker === w) worker = undefined;
      for (const id of [...pending.keys()]) settle({ id, ok: false, code: reason });
    };
    w.on('message', settle);
    w.on('error', (e) => fail(`walker thread failed: ${e.message}`));
    w.on('exit', (code) => fail(`walker thread exited with code ${code}`));
    return w;
  }

  return {
    walk(key, dir) {
      const w = (worker ??= spawn());
      w.ref();
      return new Promise((resolve) => {
        const id = ++nextId;
        pending.set(id, resolve);
        w.postMessage({ id, key, dir } satisfies WalkRequest);
      });
    },
    async stop() {
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}
