/** One sample line of a text exposition, for assertions in tests. */
export interface SampleLine {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Splits a Prometheus text exposition into HELP, TYPE and sample lines (test support; values unescaped). */
export function readExposition(text: string): { help: Map<string, string>; type: Map<string, string>; samples: SampleLine[] } {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: SampleLine[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? help : type).set(meta[2] as string, meta[3] as string);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[lm[1] as string] = (lm[2] as string).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name: m[1] as string, labels, value: Number((m[3] as string).replace('+Inf', 'Infinity')) });
  }
  return { help, type, samples };
}

/** The family a sample line belongs to, given the declared families (histogram series carry suffixes). */
export function familyOfSample(name: string, histograms: ReadonlySet<string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix) && histograms.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length);
  }
  return name;
}
