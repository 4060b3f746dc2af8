/**
 * The source document of each contract (the seed it was written from, `docs/seeds/`), its revision, and
 * the sections the check cites for rules that come from the document as a whole rather than from one
 * family's section (forbidden labels, instance labels, naming, compliance tests). Every finding cites
 * its own contract's document: an ops-proxy finding never cites the trc spec.
 *
 * The registry does not record the upstream revision of a seed yet (see the README: fields the
 * registry should take over); until it does, `upstreamRevision` says what the document itself states,
 * and `sha256` pins the exact text the contract was written from.
 */
import type { ContractSpec, FamilySpec } from '../../../semconv/types.ts';

/** Where a finding's requirement is written: the contract's seed document and its sections. */
export interface Citation {
  /** Seed file name under `docs/seeds/` (a copy of `../shared/seeds/`). */
  readonly document: string;
  /** Section headings of that document, as the registry or the document names them. */
  readonly sections: readonly string[];
}

/** Document-wide sections a rule can cite; absent where the document says nothing of the kind. */
export interface DocumentSections {
  /** Where the document lists its families and prefix (what makes a family undocumented). */
  readonly catalogue: string;
  readonly instanceLabels?: string;
  readonly forbiddenLabels?: string;
  /** Naming rules for unit and type suffixes. */
  readonly naming?: string;
  /** Label conventions and cardinality rules. */
  readonly cardinality?: string;
  /** Required families (a compliance test). */
  readonly requiredFamilies?: string;
  /** Route templates instead of raw paths. */
  readonly pathTemplates?: string;
  /** Bounded reason lists. */
  readonly reasons?: string;
  /** What a label's values must be, tied to another family. */
  readonly consistency?: string;
}

/** One contract's source document. */
export interface ContractDocument {
  readonly seed: string;
  /** The document's first heading. */
  readonly title: string;
  /** The upstream commit or date the seed was taken from, as far as anything records it. */
  readonly upstreamRevision: string;
  /** The first 16 hex digits of the SHA-256 of the seed text (`docs/seeds/<seed>`). */
  readonly sha256: string;
  readonly sections: DocumentSections;
}

const NOT_RECORDED = 'not recorded (the registry has no seed revision yet)';

/** The five component contracts' documents, by contract id. */
export const CONTRACT_DOCUMENTS: Readonly<Record<string, ContractDocument>> = {
  egress: {
    seed: '000_1804d0b4eddf39f2.txt',
    title: 'Egress Sidecar Metrics',
    upstreamRevision: NOT_RECORDED,
    sha256: '9ac6884299e5713e',
    sections: { catalogue: 'Egress Sidecar Metrics (all metrics use the prefix opensandbox_egress_*)', instanceLabels: 'Instance identification (keeping metrics per container)' },
  },
  'ops-proxy': {
    seed: '001_873f7e44fd0c3b59.txt',
    title: 'Ops Proxy Metrics',
    upstreamRevision: NOT_RECORDED,
    sha256: 'ed1c40ebcabcea57',
    sections: { catalogue: 'Ops Proxy Metrics (the metrics exported by Ops Proxy)', instanceLabels: 'Notes', forbiddenLabels: 'Notes', consistency: 'Notes' },
  },
  trc: {
    seed: '002_319d91f4cc02c0ce.txt',
    title: 'docs/specs/observability/metrics.md',
    upstreamRevision: 'Last reviewed: 2025-12-16 (Status: draft), as the document states; no commit recorded',
    sha256: '35baf574e2c73a4f',
    sections: {
      catalogue: 'Required metrics by component',
      instanceLabels: 'Label conventions and cardinality rules / Allowed bounded labels (v1)',
      forbiddenLabels: 'Label conventions and cardinality rules / Forbidden labels',
      naming: 'Metric naming conventions',
      cardinality: 'Label conventions and cardinality rules',
      requiredFamilies: 'Compliance tests 1',
      pathTemplates: 'Compliance tests 2',
      reasons: 'Compliance tests 3 and 4',
    },
  },
  podtrace: {
    seed: '003_d73f844c3a565732.txt',
    title: 'Metrics and Monitoring',
    upstreamRevision: NOT_RECORDED,
    sha256: '052a399a0ad39fe1',
    sections: { catalogue: 'Available Metrics' },
  },
  'masque-vpn': {
    seed: '004_e230dccd7de229b4.txt',
    title: 'Prometheus Metrics Reference',
    upstreamRevision: NOT_RECORDED,
    sha256: '032e0a62c9ff919a',
    sections: { catalogue: 'Prometheus Metrics Reference (all metrics exposed by masque-vpn server)' },
  },
};

/** The document of a contract; a contract outside the five (a test's) gets its seed name and nothing else. */
export function documentOf(contract: ContractSpec): ContractDocument {
  return (
    CONTRACT_DOCUMENTS[contract.id] ?? { seed: contract.seed, title: contract.brief, upstreamRevision: NOT_RECORDED, sha256: 'unknown', sections: { catalogue: contract.brief } }
  );
}

/**
 * The citation of a finding: the contract's document, the family's own section (when the finding is
 * about a documented family) and the document-wide section named by `key` (when the document has one).
 */
export function citation(contract: ContractSpec, spec: FamilySpec | undefined, key?: keyof DocumentSections): Citation {
  const doc = documentOf(contract);
  const sections: string[] = [];
  if (spec) sections.push(spec.section);
  const wide = key ? doc.sections[key] : undefined;
  if (wide && !sections.includes(wide)) sections.push(wide);
  if (sections.length === 0) sections.push(doc.sections.catalogue);
  return { document: doc.seed, sections };
}
