/**
 * Rename hints: for each documented family that is absent, the exposed family it was most likely
 * renamed to. A candidate is a family no checked contract documents (under a contract's prefix or
 * outside every one) of a TYPE the document allows, that either
 * - is the name the collector's default translation gives the documented family (a target scraped
 *   through a collector: `masque_vpn_total_connections` → `masque_vpn_connections_total`), or
 * - ends with every token of the documented name after its prefix, by suffix (`vpn_server_active_connections`
 *   for `masque_vpn_active_connections`), where a unit token may differ within its dimension
 *   (`trc_http_request_duration_ms` for `trc_http_request_duration_seconds`) and a counter may lack `total`.
 * Each candidate is given to one documented family at most: longer documented names choose first.
 */
import type { ContractSpec, FamilySpec, InstrumentKind } from '../../../semconv/types.ts';
import { acceptedTypes, type ContractIndex, type ObservedFamily, type ObservedType } from '../model.ts';
import type { OtlpMetricKind } from '../otlp/decode.ts';
import { collectorDefaultName } from '../otlp/translate.ts';

/** One absent documented family and its likely new name. */
export interface RenameMatch {
  readonly contract: string;
  readonly documented: string;
  readonly candidate: string;
  readonly candidateType: ObservedType;
  readonly how: 'collector-default' | 'suffix';
  /** What differs besides the prefix (a unit word, a missing `total`), when something does. */
  readonly note?: string;
  /** The OTLP name(s) sent for the candidate, when it came over OTLP. */
  readonly sentAs?: string;
  /**
   * What the rename changed, the same for every family one drift renamed: the documented name's part
   * before the matched suffix and the candidate's (`masque_vpn_` → `vpn_server_`), and the note.
   */
  readonly drift: string;
}

/** The matches of a run, both ways. */
export interface RenameMatches {
  readonly byDocumented: ReadonlyMap<string, RenameMatch>;
  readonly byCandidate: ReadonlyMap<string, RenameMatch>;
}

/**
 * Namespaces of the families client libraries export by default (Go runtime, process, promhttp, Python,
 * JVM, Node.js, the OTel SDK's own): never a renamed contract family.
 */
const RUNTIME_NAMESPACES = /^(go|process|promhttp|python|jvm|nodejs|otel|otelcol|target_info|scrape|up$)/;

const DIMENSIONS: readonly ReadonlySet<string>[] = [
  new Set(['seconds', 'second', 'milliseconds', 'millis', 'ms', 'microseconds', 'us', 'nanoseconds', 'ns', 'minutes', 'hours', 'days']),
  new Set(['bytes', 'byte', 'kilobytes', 'kb', 'kibibytes', 'kib', 'megabytes', 'mb', 'mebibytes', 'mib', 'gigabytes', 'gb', 'bits']),
];

function sameDimension(a: string, b: string): boolean {
  return DIMENSIONS.some((d) => d.has(a) && d.has(b));
}

function tokens(name: string): string[] {
  return name.split('_').filter((t) => t !== '');
}

function otlpShape(instrument: InstrumentKind): { kind: OtlpMetricKind; isMonotonic: boolean } {
  if (instrument === 'counter') return { kind: 'sum', isMonotonic: true };
  if (instrument === 'updowncounter') return { kind: 'sum', isMonotonic: false };
  return { kind: instrument, isMonotonic: false };
}

/** How a candidate's tokens end with the documented tail (how many tokens matched), or undefined when they do not. */
function suffixMatch(tail: readonly string[], cand: readonly string[], counter: boolean): { matched: number; note?: string } | undefined {
  const attempt = (t: readonly string[]): { matched: number; note?: string } | undefined => {
    if (t.length === 0 || cand.length < t.length) return undefined;
    let note: string | undefined;
    for (let i = 1; i <= t.length; i++) {
      const d = t[t.length - i] as string;
      const c = cand[cand.length - i] as string;
      if (d === c) continue;
      if (i === 1 && sameDimension(d, c)) {
        note = `unit "${c}" instead of "${d}"`;
        continue;
      }
      return undefined;
    }
    return note ? { matched: t.length, note } : { matched: t.length };
  };
  const full = attempt(tail);
  if (full) return full;
  if (counter && tail[tail.length - 1] === 'total' && cand[cand.length - 1] !== 'total') {
    const without = attempt(tail.slice(0, -1));
    if (without) return { matched: without.matched, note: [without.note, 'no "total" suffix'].filter(Boolean).join(', ') };
  }
  return undefined;
}

interface Absent {
  readonly contract: ContractSpec;
  readonly spec: FamilySpec;
  readonly tail: readonly string[];
}

function sentAs(f: ObservedFamily): string | undefined {
  const names = [...f.otlpNames.keys()].filter((n) => n !== f.name);
  return names.length > 0 ? names.join(', ') : undefined;
}

/** Finds the likely rename of every absent documented family among the undocumented ones. */
export function findRenames(index: ContractIndex, families: ReadonlyMap<string, ObservedFamily>): RenameMatches {
  const undocumented = [...families.values()].filter((f) => !index.ownerOf(f.name)?.spec && !RUNTIME_NAMESPACES.test(f.name)).map((f) => ({ f, t: tokens(f.name) }));
  const absent: Absent[] = [];
  for (const { contract, spec } of index.documentedFamilies()) {
    if (!families.has(spec.name)) absent.push({ contract, spec, tail: tokens(spec.name.slice(contract.prefix.length)) });
  }
  absent.sort((a, b) => b.tail.length - a.tail.length || a.spec.name.localeCompare(b.spec.name));
  const byDocumented = new Map<string, RenameMatch>();
  const byCandidate = new Map<string, RenameMatch>();
  const take = (a: Absent, f: ObservedFamily, how: RenameMatch['how'], drift: string, note?: string): void => {
    const s = sentAs(f);
    const m: RenameMatch = { contract: a.contract.id, documented: a.spec.name, candidate: f.name, candidateType: f.type, how, drift, ...(note ? { note } : {}), ...(s ? { sentAs: s } : {}) };
    byDocumented.set(a.spec.name, m);
    byCandidate.set(f.name, m);
  };
  for (const a of absent) {
    const types = acceptedTypes(a.spec);
    const fits = (f: ObservedFamily): boolean => !byCandidate.has(f.name) && (types.includes(f.type) || f.type === 'untyped');
    const translated = collectorDefaultName({ name: a.spec.name, unit: a.spec.unit, ...otlpShape(a.spec.instrument) });
    const viaCollector = translated !== a.spec.name ? families.get(translated) : undefined;
    if (viaCollector && fits(viaCollector) && !index.ownerOf(translated)?.spec) {
      take(a, viaCollector, 'collector-default', 'collector-default');
      continue;
    }
    let best: { f: ObservedFamily; t: readonly string[]; matched: number; note?: string } | undefined;
    for (const { f, t } of undocumented) {
      if (!fits(f)) continue;
      const m = suffixMatch(a.tail, t, a.spec.type === 'counter');
      if (!m) continue;
      const better = !best || (best.note !== undefined && m.note === undefined) || ((best.note === undefined) === (m.note === undefined) && f.name.length < best.f.name.length);
      if (better) best = { f, t, ...m };
    }
    if (best) {
      const head = best.t.slice(0, best.t.length - best.matched).join('_');
      take(a, best.f, 'suffix', `${a.contract.prefix} -> ${head ? `${head}_` : '(none)'}${best.note ? `; ${best.note}` : ''}`, best.note);
    }
  }
  return { byDocumented, byCandidate };
}

/** The hint text for a match: `likely renamed to X (counter)`, with how and what differs. */
export function renameHint(m: RenameMatch): string {
  const via = m.how === 'collector-default' ? ", the name the collector's default translation (UnderscoreEscapingWithSuffixes) gives it: set translation_strategy: UnderscoreEscapingWithoutSuffixes" : '';
  const sent = m.sentAs ? `, sent over OTLP as ${m.sentAs}` : '';
  const note = m.note ? `; ${m.note}` : '';
  return `likely renamed to ${m.candidate} (${m.candidateType}${sent})${via}${note}`;
}
