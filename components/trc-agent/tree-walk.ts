import { lstatSync, opendirSync, type Dir } from 'node:fs';
import { performance } from 'node:perf_hooks';

/**
 * The disk usage and the files of one directory tree (a cache directory). The agent walks on a worker
 * thread of its own (walk-worker.ts) in one go; on a shared event loop a walk goes in slices of a few
 * milliseconds, between which the loop serves what came in. Directories are read one entry at a time, so a
 * directory of 100 000 files is no longer a step than any other. Symbolic links are not followed and the
 * walk stays on the root's filesystem (`du -x`), so it ends; `maxEntries` bounds it besides.
 */

/** What a walk found. */
export interface TreeUsage {
  /**
   * Disk usage in bytes, as `du -sxB1` counts it: `st_blocks × 512` of the root, of every directory below
   * it and of every other entry, a file with several hard links once.
   */
  readonly bytes: number;
  /** Every non-directory entry by inode number → its birth time in ms (0 where the filesystem keeps none). */
  readonly files: Map<number, number>;
  /** Entries that vanished between listing and stat, or could not be read; left out. */
  readonly skipped: number;
  /** True when the walk stopped at `maxEntries`; the figures then cover part of the tree. */
  readonly truncated: boolean;
}

/** Options of {@link walkTree}. */
export interface WalkOptions {
  /** Time on the event loop before the walk yields (ms). Default 4. */
  readonly sliceMs?: number;
  /** Bound on the entries visited. Default 10 000 000. */
  readonly maxEntries?: number;
}

/** The root of a walk is not a directory (`code` ENOTDIR), as the system's errors carry codes. */
export class NotADirectoryError extends Error {
  readonly code = 'ENOTDIR';
  constructor(path: string) {
    super(`${path} is not a directory`);
    this.name = 'NotADirectoryError';
  }
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Walk state: the directories left, the one being read, and the running figures. */
interface Walk {
  readonly dev: number;
  readonly stack: string[];
  readonly files: Map<number, number>;
  dir: Dir | undefined;
  dirPath: string;
  bytes: number;
  skipped: number;
}

/** Visits one entry of the directory being read; closes it at its end. */
function step(w: Walk): void {
  let name: string;
  try {
    const ent = (w.dir as Dir).readSync();
    if (ent === null) {
      closeDir(w);
      return;
    }
    name = ent.name;
  } catch {
    w.skipped++;
    closeDir(w);
    return;
  }
  const path = w.dirPath.endsWith('/') ? w.dirPath + name : `${w.dirPath}/${name}`;
  let st;
  try {
    st = lstatSync(path, { throwIfNoEntry: false });
  } catch {
    st = undefined;
  }
  if (st === undefined) w.skipped++;
  else if (st.dev !== w.dev) return;
  else if (st.isDirectory()) {
    w.bytes += st.blocks * 512;
    w.stack.push(path);
  } else if (!w.files.has(st.ino)) {
    w.bytes += st.blocks * 512;
    w.files.set(st.ino, st.birthtimeMs);
  }
}

function closeDir(w: Walk): void {
  try {
    w.dir?.closeSync();
  } catch {
    // already closed
  }
  w.dir = undefined;
}

/** Opens the next directory of the stack; false when none is left. */
function openNext(w: Walk): boolean {
  while (w.dir === undefined) {
    const next = w.stack.pop();
    if (next === undefined) return false;
    try {
      w.dir = opendirSync(next, { bufferSize: 128 });
      w.dirPath = next;
    } catch {
      w.skipped++;
    }
  }
  return true;
}

/**
 * Walks the tree under `root` (see {@link TreeUsage}).
 * @throws the system error of `root` itself (ENOENT when it is gone, EACCES); NotADirectoryError. Entries
 *   below the root that fail are counted in `skipped` instead.
 */
export async function walkTree(root: string, opts: WalkOptions = {}): Promise<TreeUsage> {
  const sliceMs = opts.sliceMs ?? 4;
  const maxEntries = opts.maxEntries ?? 10_000_000;
  const top = lstatSync(root);
  if (!top.isDirectory()) throw new NotADirectoryError(root);
  // The root opened here, so that a root that cannot be read throws rather than reading as empty.
  const w: Walk = { dev: top.dev, stack: [], files: new Map(), dir: opendirSync(root, { bufferSize: 128 }), dirPath: root, bytes: top.blocks * 512, skipped: 0 };
  let entries = 0;
  let truncated = false;
  let sliceStart = performance.now();
  try {
    while (openNext(w)) {
      step(w);
      if (++entries >= maxEntries) {
        truncated = true;
        break;
      }
      if ((entries & 63) === 0 && performance.now() - sliceStart >= sliceMs) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
    }
  } finally {
    closeDir(w);
  }
  return { bytes: w.bytes, files: w.files, skipped: w.skipped, truncated };
}
