import type { PodtraceRecorders } from '../../types.ts';

/** One call made on a {@link fakeRecorders} recorder. */
export interface Call {
  readonly family: string;
  readonly value: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** Test double of the podtrace recorders: every `add`/`record` is appended to `calls`. */
export function fakeRecorders(): { rec: PodtraceRecorders; calls: Call[] } {
  const calls: Call[] = [];
  const rec = new Proxy(
    {},
    {
      get: (_t, family: string) => ({
        add: (value: number, labels: Record<string, string>) => calls.push({ family, value, labels }),
        record: (value: number, labels: Record<string, string>) => calls.push({ family, value, labels }),
      }),
    },
  ) as PodtraceRecorders;
  return { rec, calls };
}

/** Sum of the values recorded into `family` with labels including `labels`. */
export function sumOf(calls: readonly Call[], family: string, labels: Record<string, string> = {}): number {
  return calls.filter((c) => c.family === family && Object.entries(labels).every(([k, v]) => c.labels[k] === v)).reduce((a, c) => a + c.value, 0);
}
