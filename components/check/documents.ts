/**
 * The source document of each contract, as its registry records it (`contract.seed` in semconv/*.yaml, loaded
 * as {@link ContractSpec.seedReference}): the seed file under `docs/seeds/`, its title, the upstream revision
 * it was taken from, and the sections findings cite for rules that come from the document as a whole rather
 * than from one family's section (forbidden labels, instance labels, naming, compliance tests). Every finding
 * cites its own contract's document: an ops-proxy finding never cites the trc spec.
 */
import type { ContractSpec, DocumentSections, FamilySpec, SeedReference } from '../../semconv/types.ts';

/** Where a finding's requirement is written: the contract's seed document and its sections. */
export interface Citation {
  /** Seed file name under `docs/seeds/` (a copy of `../shared/seeds/`). */
  readonly document: string;
  /** Section headings of that document, as the registry names them. */
  readonly sections: readonly string[];
}

/** What the report says of a contract's source document. */
export interface ContractDocument {
  readonly seed: string;
  /** The document's first heading (the contract's brief where the registry records no seed). */
  readonly title: string;
  /** Where upstream the seed was taken from: repository, path, and the commit or the date. */
  readonly upstreamRevision: string;
  /** The seed text's git blob id (`git hash-object docs/seeds/<seed>`), pinning the exact text. */
  readonly gitBlob?: string;
  /** What else the registry says of this revision (a later upstream change). */
  readonly note?: string;
  readonly sections: DocumentSections;
}

/** `alibaba/OpenSandbox components/egress/METRIC.md at 93ee89a8 (2026-02-26)`, or the path and date where no commit is known. */
function revisionOf(ref: SeedReference): string {
  const where = [ref.repository, ref.path].filter(Boolean).join(' ') || ref.file;
  if (ref.commit) return `${where} at ${ref.commit.slice(0, 8)}${ref.date ? ` (${ref.date})` : ''}`;
  return `${where} as of ${ref.date ?? 'an unknown date'}, no upstream commit known`;
}

/** The document of a contract; a contract whose registry records no seed (a test's) gets its seed name and brief. */
export function documentOf(contract: ContractSpec): ContractDocument {
  const ref = contract.seedReference;
  if (!ref) return { seed: contract.seed, title: contract.brief, upstreamRevision: 'not recorded in the registry', sections: { catalogue: contract.brief } };
  return {
    seed: contract.seed,
    title: ref.title ?? contract.brief,
    upstreamRevision: revisionOf(ref),
    gitBlob: ref.gitBlob,
    ...(ref.note ? { note: ref.note } : {}),
    sections: ref.sections ?? { catalogue: contract.brief },
  };
}

/**
 * The citation of a finding: the contract's document, the family's own section (when the finding is
 * about a documented family) and the document-wide section named by `key` (when the document has one).
 */
export function citation(contract: ContractSpec, spec: FamilySpec | undefined, key?: keyof DocumentSections): Citation {
  const sections: string[] = [];
  if (spec) sections.push(spec.section);
  const all = contract.seedReference?.sections ?? { catalogue: contract.brief };
  const wide = key ? all[key] : undefined;
  if (wide && !sections.includes(wide)) sections.push(wide);
  if (sections.length === 0) sections.push(all.catalogue);
  return { document: contract.seed, sections };
}
