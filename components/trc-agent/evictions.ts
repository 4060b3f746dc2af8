/**
 * Evictions from a cache, from its successive walks (seed 002 section E, `trc_agent_cache_evictions_total`):
 * a file that was in the cache and is not any more. Files are told apart by inode number and birth time,
 * not by path: a file renamed inside the cache keeps both and is no eviction; a file removed whose inode
 * number a new file got (ext4 hands a freed number out again at once) differs in birth time and is one.
 *
 * A walk is not a snapshot: a file renamed from a directory the walk has not read yet into one it has
 * read already is missed by that walk alone. So a file counts as evicted when two walks in a row miss it:
 * an eviction shows one walk after it happened, and a file a walk missed in passing never counts.
 */

/** Files of a walk: inode number → birth time in ms (0 where the filesystem keeps none). */
export type FileSet = ReadonlyMap<number, number>;

/** How many files of `before` are not in `after`: their inode number is gone, or belongs to a file born at another time. */
export function countEvicted(before: FileSet, after: FileSet): number {
  let n = 0;
  for (const [ino, born] of before) if (after.get(ino) !== born) n++;
  return n;
}

/** The files of `before` that `after` lacks (see {@link countEvicted}). */
function missingFrom(before: FileSet, after: FileSet): Map<number, number> {
  const out = new Map<number, number>();
  for (const [ino, born] of before) if (after.get(ino) !== born) out.set(ino, born);
  return out;
}

/** The evictions of one cache, walk after walk. */
export class EvictionTracker {
  private last: FileSet | undefined;
  private missed: FileSet = new Map();

  /**
   * Takes the files of the latest walk.
   * @returns the files evicted: missed by the previous walk and by this one (0 for the first two walks).
   */
  update(files: FileSet): number {
    const evicted = countEvicted(this.missed, files);
    this.missed = this.last ? missingFrom(this.last, files) : new Map();
    this.last = files;
    return evicted;
  }
}
