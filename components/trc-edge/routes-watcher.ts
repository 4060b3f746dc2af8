import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';

/**
 * Watches the routes file, so that the routes reload when it changes. The file's directory is watched,
 * not the file, so that an atomic replace (write a temporary file, rename it over the routes file, as
 * editors and config-management tools do) is seen, and the watch survives it. Events for the routes
 * file's name are gathered: `onChange` runs once when none has come for
 * {@link QUIET_MS} (a burst of writes, or a rename with its own events, is one change).
 */

/** Quiet time after the last event before a change is reported. */
export const QUIET_MS = 200;

/** A running watch. */
export interface RoutesWatcher {
  close(): void;
}

/**
 * Starts watching `path`.
 * @throws the `fs.watch` error when the directory cannot be watched (ENOENT, ENOSPC for inotify watches).
 */
export function watchRoutesFile(path: string, onChange: () => void, logger: Logger): RoutesWatcher {
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    timer = undefined;
    onChange();
  };
  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, file) => {
    if (file !== null && file !== name) return;
    if (timer) timer.refresh();
    else timer = setTimeout(fire, QUIET_MS);
  });
  watcher.on('error', (e) => logger.error({ err: e.message, routes: path }, 'routes file watch failed: changes are no longer seen (SIGHUP still reloads)'));
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
