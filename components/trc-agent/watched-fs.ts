import { ConfigError } from '../../instrumentation/config.ts';
import type { ProblemLog } from './report-once.ts';
import { isMountPoint, statFilesystem, type FsFigures } from './statfs.ts';

/**
 * One filesystem the agent reports on (a `--mount`, the `--volume-pool`), read at every collection.
 * When a read fails (the path is gone, EIO), or a path that was a mount point at start is no longer one
 * (unmounted: statfs would silently describe the parent filesystem instead), the problem is logged once
 * and the last good figures stand until a read succeeds again.
 */

/** A filesystem read at each collection. */
export interface WatchedFilesystem {
  /** The absolute path given on the command line. */
  readonly path: string;
  /** Whether a filesystem was mounted at the path itself when the agent started. */
  readonly mountPoint: boolean;
  /** The current figures, or the last good ones while reads fail. */
  read(): FsFigures;
}

/**
 * Opens `path` for reporting; `flag` (`--mount`, `--volume-pool`) names it in messages. A path that is
 * not a mount point is logged once (its figures are those of the filesystem holding it) and accepted.
 * @throws ConfigError naming the flag when the path cannot be read at start (missing, no permission).
 */
export function watchFilesystem(path: string, flag: string, problems: ProblemLog, warn: (msg: string) => void): WatchedFilesystem {
  let last: FsFigures;
  let mountPoint: boolean;
  try {
    last = statFilesystem(path);
    mountPoint = isMountPoint(path);
  } catch (e) {
    throw new ConfigError(`${flag} ${path}: ${(e as Error).message}`);
  }
  if (!mountPoint) warn(`${flag} ${path} is not a mount point; its figures are those of the filesystem holding it`);
  const subject = `${flag} ${path}`;
  return {
    path,
    mountPoint,
    read() {
      try {
        if (mountPoint && !isMountPoint(path)) {
          problems.fail(subject, `${subject} is no longer mounted; its series keep their last value until it is mounted again`);
          return last;
        }
        last = statFilesystem(path);
        problems.ok(subject);
      } catch (e) {
        problems.fail(subject, `${subject} cannot be read; its series keep their last value until it can`, { err: (e as Error).message });
      }
      return last;
    },
  };
}
