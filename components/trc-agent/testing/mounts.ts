/**
 * Test support (root): real filesystems for the disk tests, a tmpfs or a loop-mounted ext4 image in a
 * directory of the test's own, what `df` says of them, and their removal at the end.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const mounted = new Set<string>();

/** Mounts a tmpfs of `sizeBytes` at `dir` (an existing directory). */
export async function mountTmpfs(dir: string, sizeBytes: number): Promise<void> {
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', dir], { timeout: 15_000 });
  mounted.add(dir);
}

/**
 * Makes an ext4 image of `sizeMiB` at `image` (`inodes`: its inode count, default mkfs's) and mounts it
 * at `dir` through a loop device (`mount -o loop`, released at unmount).
 */
export async function mountExt4Image(image: string, dir: string, sizeMiB: number, inodes?: number): Promise<void> {
  await run('truncate', ['-s', `${sizeMiB}M`, image], { timeout: 15_000 });
  await run('mkfs.ext4', ['-q', '-F', ...(inodes ? ['-N', String(inodes)] : []), image], { timeout: 30_000 });
  await run('mount', ['-o', 'loop', image, dir], { timeout: 15_000 });
  mounted.add(dir);
}

/** Unmounts `dir`. */
export async function unmount(dir: string): Promise<void> {
  await run('umount', [dir], { timeout: 15_000 });
  mounted.delete(dir);
}

/** Unmounts everything this file mounted and has not unmounted yet (lazily when busy). Never throws. */
export async function unmountAll(): Promise<void> {
  for (const dir of [...mounted]) {
    await run('umount', [dir], { timeout: 15_000 }).catch(() => run('umount', ['-l', dir], { timeout: 15_000 }).catch(() => undefined));
    mounted.delete(dir);
  }
}

/** `df --output=FIELD -B1 PATH` as a number of bytes (`avail`, `used`, `size`). */
export async function df(path: string, field: 'avail' | 'used' | 'size'): Promise<number> {
  const { stdout } = await run('df', [`--output=${field}`, '-B1', path], { timeout: 15_000 });
  const value = Number(stdout.trim().split('\n')[1]?.trim());
  if (!Number.isFinite(value)) throw new Error(`df --output=${field} ${path}: unexpected output ${JSON.stringify(stdout)}`);
  return value;
}

/** `fallocate -l BYTES FILE`: takes `bytes` of disk at once. */
export async function fallocate(file: string, bytes: number): Promise<void> {
  await run('fallocate', ['-l', String(bytes), file], { timeout: 15_000 });
}

/** Throws a message naming what the test needs when the process is not root or a program is missing. */
export function assertRootWith(what: string, programs: readonly string[], find: (name: string) => string | undefined): void {
  if (process.getuid?.() !== 0) throw new Error(`${what} needs root`);
  const missing = programs.filter((p) => !find(p));
  if (missing.length) throw new Error(`${what} needs ${missing.join(', ')} (npm run provision installs them)`);
}
