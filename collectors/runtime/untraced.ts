import fs from 'node:fs';

/**
 * The `fs` functions the collectors and the preload's logger use themselves, captured when this module is
 * evaluated, i.e. before the file-system collector wraps `fs` (it imports this module first). Calls
 * through these are never counted in the podtrace FS families: reading `/proc` and cgroup files, or
 * writing our own log lines, is not the app's file-system activity.
 */
export const untraced = {
  readFileSync: fs.readFileSync,
  readdirSync: fs.readdirSync,
  readlinkSync: fs.readlinkSync,
  existsSync: fs.existsSync,
  writeSync: fs.writeSync,
} as const;
