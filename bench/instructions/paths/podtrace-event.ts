import type { HotPath } from '../hot-path.ts';
import { FLOOR, OURS } from './peers.ts';

/**
 * podtrace's user-space cost per traced event: what the tracer process does with bpftrace's prints.
 * The kernel aggregates the events in maps and bpftrace prints them, cumulatively, every interval: here one
 * print is its three lines (`@hist` stats per process, kind and bucket; `@last`; `@bytes`) carrying
 * {@link EVENTS_PER_PRINT} new file-system latency events over four buckets, read by the collector's
 * `parseLine` and recorded by its delta recorder into the podtrace families. The floor reads the same lines
 * and records nothing. The in-kernel cost of an event (a BPF program in the traced process) is not in
 * user space and not counted here; bench:podtrace measures it as CPU time.
 */

/** New events in each print (the bench:podtrace workload makes about 84 000 a second, printed once a second). */
export const EVENTS_PER_PRINT = 400;
const BUCKETS = [0, 1, 2, 3];
const NAME = 'python3';

/** The three lines of the `k`-th print: every counter cumulative, as bpftrace prints its maps. */
function printLines(k: number, hist: number, last: number, bytes: { read: number; write: number }): string[] {
  const per = EVENTS_PER_PRINT / BUCKETS.length;
  const count = per * (k + 1);
  const stats = BUCKETS.map((b) => `"${NAME},${hist},${b}": {"count": ${count}, "average": ${50_000 * 2 ** b}, "total": ${count * 50_000 * 2 ** b}}`);
  return [
    `{"type": "stats", "data": {"@hist": {${stats.join(', ')}}}}`,
    `{"type": "map", "data": {"@last": {"${NAME},${last}": ${60_000 + (k % 7) * 1000}}}}`,
    `{"type": "map", "data": {"@bytes": {"${NAME},${bytes.read}": ${4096 * count}, "${NAME},${bytes.write}": ${512 * count}}}}`,
  ];
}

/** Prints for the whole protocol (warm-up and segments), each in its lines. */
async function prints(n: number): Promise<string[][]> {
  const { BYTES, HIST, LAST } = await import('../../../collectors/ebpf/probes/kinds.ts');
  return Array.from({ length: n }, (_, k) => printLines(k, HIST.fs, LAST.read, BYTES));
}

const WARMUP = 300;
const COUNTS = [4, 8, 16];
const TOTAL = 2 * WARMUP + COUNTS.reduce((a, b) => a + b, 0);

export const PODTRACE_EVENT_PATH: HotPath = {
  id: 'podtrace-event',
  title: `podtrace event, user space: bpftrace's prints read and recorded (${EVENTS_PER_PRINT} events a print) vs read only (floor)`,
  unit: 'instructions per event',
  unitsPerOperation: EVENTS_PER_PRINT,
  ratioTo: FLOOR,
  warmup: WARMUP,
  counts: COUNTS,
  implementations: [
    {
      name: FLOOR,
      async setup() {
        const { parseLine } = await import('../../../collectors/ebpf/parse.ts');
        const all = await prints(TOTAL);
        let entries = 0;
        return (i: number) => {
          for (const line of all[i] as string[]) {
            const l = parseLine(line);
            if (l?.kind === 'map') entries += l.entries.size;
          }
          if (entries < 0) throw new Error('unreachable: keeps the count alive');
        };
      },
    },
    {
      name: OURS,
      async setup() {
        const { parseLine } = await import('../../../collectors/ebpf/parse.ts');
        const { createEbpfRecorder } = await import('../../../collectors/ebpf/record.ts');
        const { podtrace } = await import('../../../semconv/generated/podtrace.ts');
        const { ourRecorders } = await import('./peers.ts');
        const recorder = createEbpfRecorder(await ourRecorders(podtrace));
        const all = await prints(TOTAL);
        return (i: number) => {
          for (const line of all[i] as string[]) {
            const l = parseLine(line);
            if (l?.kind === 'map') recorder.map(l.name, l.entries);
          }
        };
      },
    },
  ],
};
