import { untraced } from './untraced.ts';

/**
 * Reads the run-queue wait of every thread of this process: the second field of
 * `/proc/self/task/<tid>/schedstat` ("time spent waiting on a runqueue", nanoseconds, cumulative since
 * the thread started; the first field is time on CPU, the third the number of timeslices).
 *
 * @param taskDir the task directory (default `/proc/self/task`; a fixture directory in tests).
 * @returns tid → cumulative wait in ns. Threads that exit while being read are skipped.
 * @throws the `readdir` error when the task directory cannot be listed (no /proc).
 */
export function readRunQueueWaits(taskDir = '/proc/self/task'): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of untraced.readdirSync(taskDir)) {
    let text: string;
    try {
      text = untraced.readFileSync(`${taskDir}/${tid}/schedstat`, 'utf8');
    } catch {
      continue; // the thread exited
    }
    const wait = Number(text.trim().split(/\s+/)[1]);
    if (Number.isFinite(wait)) out.set(tid, wait);
  }
  return out;
}

/**
 * Sum of the increases of each thread's wait between two readings, in ns. A thread absent from
 * `before` (born in between) contributes all of its wait; a thread that exited contributes nothing.
 */
export function runQueueWaitDelta(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const [tid, ns] of after) {
    const prev = before.get(tid) ?? 0;
    if (ns > prev) sum += ns - prev;
  }
  return sum;
}
