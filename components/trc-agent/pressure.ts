import type { PressureKind } from './contract.ts';
import type { FsFigures } from './statfs.ts';

/**
 * `trc_agent_disk_pressure{kind}` (seed 002 section E, "Resource and disk pressure"; the registry bounds
 * `kind` to disk, inodes, volume_pool): 1 when the node is short of that resource, else 0.
 * - `disk`: on some `--mount`, bytes available (`f_bavail`) are below `freePct` % of its size;
 * - `inodes`: on some `--mount`, free inodes are below `freePct` % of its inodes (a filesystem without a
 *   fixed inode table, `f_files` = 0, never is);
 * - `volume_pool`: the volume pool's available bytes are below `freePct` % of its size (0 without a pool).
 * "Below" is strict: with `freePct` 0 there is never pressure.
 */
export function pressureOf(mounts: readonly FsFigures[], pool: FsFigures | undefined, freePct: number): Record<PressureKind, 0 | 1> {
  const low = (free: number, total: number) => total > 0 && (free / total) * 100 < freePct;
  return {
    disk: mounts.some((m) => low(m.availBytes, m.sizeBytes)) ? 1 : 0,
    inodes: mounts.some((m) => low(m.inodesFree, m.inodes)) ? 1 : 0,
    volume_pool: pool !== undefined && low(pool.availBytes, pool.sizeBytes) ? 1 : 0,
  };
}
