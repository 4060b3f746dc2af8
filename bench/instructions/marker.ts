import { getPriority } from 'node:os';

/**
 * The segment marker of the instruction benchmark: a call that reaches one native function nothing else in
 * the benchmark's processes calls, so that callgrind, run with `--dump-before=` {@link MARKER_SYMBOL}, writes
 * the instructions counted since the previous marker to a file of their own. Between two markers lies
 * exactly one segment of the child's protocol (see child.ts).
 */

/** libuv's function behind `os.getPriority()`, where callgrind dumps its counters. */
export const MARKER_SYMBOL = 'uv_os_getpriority';

/** Ends the current segment and starts the next one (under callgrind); a cheap system call otherwise. */
export function mark(): void {
  getPriority(0);
}
