import { statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * What statfs(2) says about the filesystem holding a path, in bytes, as node_exporter's
 * `node_filesystem_*` families and `df -B1` compute it. One system call, a few microseconds on a local
 * filesystem: cheap enough to run at every collection (the disk and volume-pool families are exact at
 * each scrape). A hung network filesystem would block it; the agent is meant for local disks.
 */

/** One filesystem's figures. Bytes are blocks × the fundamental block size (`f_frsize`; `f_bsize` where Node lacks it). */
export interface FsFigures {
  /** `f_bavail × f_frsize`: bytes available to unprivileged users (`node_filesystem_avail_bytes`, `df` Avail). */
  readonly availBytes: number;
  /** `f_blocks × f_frsize`: the filesystem's size (`df` 1B-blocks). */
  readonly sizeBytes: number;
  /** `(f_blocks − f_bfree) × f_frsize`: bytes in use, root's reserve not counted as used (`df` Used). */
  readonly usedBytes: number;
  /** `f_files`: inodes in all; 0 on filesystems without a fixed inode table (btrfs). */
  readonly inodes: number;
  /** `f_ffree`: free inodes. */
  readonly inodesFree: number;
}

/**
 * statfs(2) of `path`.
 * @throws the system error (ENOENT when the path is gone, EACCES, EIO).
 */
export function statFilesystem(path: string): FsFigures {
  const s = statfsSync(path);
  // `frsize` arrived after Node 22.15 (the oldest Node the package supports); on Linux local filesystems it equals bsize.
  const unit = (s as { frsize?: number }).frsize || s.bsize;
  return {
    availBytes: s.bavail * unit,
    sizeBytes: s.blocks * unit,
    usedBytes: (s.blocks - s.bfree) * unit,
    inodes: s.files,
    inodesFree: s.ffree,
  };
}

/**
 * Whether a filesystem is mounted at `path` itself, by the `mountpoint(1)` test: `/`, or a device
 * different from its parent directory's. A bind mount of a directory of the same filesystem reads as not
 * a mount point. Two stat(2) calls.
 * @throws the system error of either stat (ENOENT when the path is gone).
 */
export function isMountPoint(path: string): boolean {
  const parent = dirname(path);
  if (parent === path) return true;
  return statSync(path).dev !== statSync(parent).dev;
}
