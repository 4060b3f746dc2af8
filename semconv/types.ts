/**
 * Normalized shapes of a metric contract, as loaded from a `semconv/*.yaml` registry.
 * `semconv/` knows nothing of the OTel SDK: these are plain data, shared by the pipeline,
 * the compliance check and the generated typed contracts.
 */

/** The OTel instrument a family is recorded through. */
export type InstrumentKind = 'counter' | 'updowncounter' | 'gauge' | 'histogram';

/** The Prometheus `# TYPE` a family is exposed with. */
export type PrometheusType = 'counter' | 'gauge' | 'histogram';

/** A Prometheus `# TYPE` a document may give a family: those otel-contracts exposes, and `summary`. */
export type DocumentedType = PrometheusType | 'summary';

/**
 * A label whose values the document ties to another family's (`annotations.otel_contracts.values_from`):
 * ops-proxy `client_name` is "the registered routing name", so every value must be one that
 * `ops_proxy_client_up` reports.
 */
export interface ValuesFrom {
  /** The family whose values of the label are the reference set (it has the label too). */
  readonly family: string;
  /**
   * Values allowed without being in the reference set: otel-contracts' own ops proxy records a request for a
   * Host that matches no registered name under `<unknown>` (one bounded series) instead of the raw Host.
   */
  readonly placeholders: readonly string[];
  /** The document's words, verbatim. */
  readonly quote: string;
}

/** One documented label of a family. Bounded labels carry `values`; unbounded ones a `cardinalityLimit`. */
export interface LabelSpec {
  readonly name: string;
  readonly brief: string;
  /** `requirement_level: required`; others may be absent from a measurement. */
  readonly required: boolean;
  /** The enum members' values, for bounded labels. */
  readonly values?: readonly string[];
  /** The most distinct values an unbounded (`type: string`) label may take. */
  readonly cardinalityLimit?: number;
  /** Where the document ties the label's values to another family's. */
  readonly valuesFrom?: ValuesFrom;
}

/**
 * A condition read from what a target shows, that a `tied` family's requirement depends on.
 * - `value`: holds when the series of `family` with these labels has this value (egress:
 *   `opensandbox_egress_enforcement_mode{mode="dns+nft"}` is 1).
 * - `role`: holds unless the target shows the other role only: `otherRoleMarker` is present and no family tied
 *   to `role` is (ops-proxy: a connecting-only peer exposes `ops_proxy_client_info` and no listening-side family).
 */
export type TieCondition =
  | { readonly kind: 'value'; readonly family: string; readonly labels: Readonly<Record<string, string>>; readonly value: number }
  | { readonly kind: 'role'; readonly role: string; readonly otherRoleMarker: string };

/** How far a document requires a family, where it does not simply require it (`annotations.otel_contracts.requirement`). */
export interface FamilyRequirement {
  /**
   * `optional`: never required when absent (the document says "(optional)"); `conditional`: required only under a
   * condition a target cannot show ("If you classify commands"); `tied`: required when {@link when} holds.
   */
  readonly level: 'optional' | 'conditional' | 'tied';
  /** The document's words, verbatim. */
  readonly quote: string;
  /** The condition of a `tied` family; absent otherwise. */
  readonly when?: TieCondition;
}

/** One documented metric family: exact Prometheus name, TYPE, HELP, labels and buckets. */
export interface FamilySpec {
  readonly name: string;
  readonly instrument: InstrumentKind;
  readonly type: PrometheusType;
  /** UCUM unit as OTel writes it (s, By, 1). Never appended to the name. */
  readonly unit: string;
  /** HELP text, from the seed document. */
  readonly help: string;
  /** The seed section the family comes from. */
  readonly section: string;
  readonly labels: readonly LabelSpec[];
  /** Explicit histogram bucket boundaries in the family's unit (seconds for durations); histograms only. */
  readonly buckets?: readonly number[];
  /** Series budget: the product of each label's possible values (+1 when optional). Used as the View's cardinality limit. */
  readonly maxSeries: number;
  /** Absent: the document requires the family. */
  readonly requirement?: FamilyRequirement;
  /** Every TYPE the document allows, where it gives more than one ("Histogram / Summary"); `type` is one of them. */
  readonly acceptedTypes?: readonly DocumentedType[];
  /** The component of the implementation that exposes the family (trc: `control-plane`, `projections`, `scheduler`, `agent`, `edge`). */
  readonly component?: string;
}

/**
 * A label put on every family of a contract (or of the families `families` names), read once from the
 * environment: egress `instance_id`, ops-proxy `node`, `pod`, trc `node_id` on agent and edge families.
 */
export interface InstanceLabelSpec {
  readonly name: string;
  readonly env: string;
  /** What to use when the variable is unset: the hostname, an empty string, or nothing (`omit`: the label is left off). */
  readonly fallback: 'hostname' | 'empty' | 'omit';
  readonly brief: string;
  /** Family-name prefixes the label goes on (trc `node_id`: `trc_agent_`, `trc_edge_`); absent: every family. */
  readonly families?: readonly string[];
  /**
   * The most distinct values one checked target may show (1: a target is one instance; more mixes instances or
   * is an aggregation point).
   */
  readonly cardinalityLimit?: number;
  /** The document's words that name the label or make it one per instance, verbatim. */
  readonly quote?: string;
}

/** A label the contract forbids (trc "Forbidden labels"), by name and optionally by value shape. */
export interface ForbiddenLabelSpec {
  readonly id: string;
  readonly brief: string;
  readonly labelNames: readonly string[];
  /** A regular expression (JavaScript syntax) matching forbidden values under any label name. */
  readonly valuePattern?: string;
}

/**
 * Sections of a seed document that findings cite for rules that come from the document as a whole rather than
 * from one family's section; absent where the document says nothing of the kind.
 */
export interface DocumentSections {
  /** Where the document lists its families and prefix (what makes a family undocumented). */
  readonly catalogue: string;
  /** Where it names its instance labels. */
  readonly instanceLabels?: string;
  readonly forbiddenLabels?: string;
  /** Naming rules for unit and type suffixes. */
  readonly naming?: string;
  /** Label conventions and cardinality rules. */
  readonly cardinality?: string;
  /** That the documented families are required (a compliance test). */
  readonly requiredFamilies?: string;
  /** Route templates instead of raw paths. */
  readonly pathTemplates?: string;
  /** Bounded reason lists. */
  readonly reasons?: string;
  /** What a label's values must be, tied to another family ({@link ValuesFrom}). */
  readonly consistency?: string;
}

/**
 * The seed document a contract keeps and its revision, as its registry records it
 * (`annotations.otel_contracts.contract.seed`): the file under docs/seeds/, its title and the sections findings
 * cite, and where upstream it was taken from. {@link ContractSpec.seedReference}; also returned by
 * `parseRegistryDetails` / `loadRegistryDetails` of `semconv/load.ts`.
 */
export interface SeedReference {
  /** File name under docs/seeds/, as {@link ContractSpec.seed}. */
  readonly file: string;
  /** The document's first heading. */
  readonly title?: string;
  /** GitHub `owner/name` of the upstream repository, when known. */
  readonly repository?: string;
  /** The document's path in that repository (or the path the document names for itself). */
  readonly path?: string;
  /** The upstream commit the document was taken from, when known. */
  readonly commit?: string;
  /** The commit's date, or the date the document states where no commit is known (YYYY-MM-DD). */
  readonly date?: string;
  /** The document's git blob id: what `git hash-object docs/seeds/<file>` prints, and what upstream has at `commit`. */
  readonly gitBlob: string;
  /** What else an auditor should know about this revision (e.g. a later upstream change). */
  readonly note?: string;
  /** The document-wide sections findings cite. */
  readonly sections?: DocumentSections;
}

/** One component's whole contract. */
export interface ContractSpec {
  readonly id: string;
  /** Seed document file name under docs/seeds/ (a copy of ../shared/seeds/), or `none`. */
  readonly seed: string;
  readonly brief: string;
  readonly prefix: string;
  readonly families: readonly FamilySpec[];
  readonly instanceLabels: readonly InstanceLabelSpec[];
  readonly forbiddenLabels: readonly ForbiddenLabelSpec[];
  /** The seed document and its revision; absent for a contract without a seed (`seed: none`). */
  readonly seedReference?: SeedReference;
}

/** Prometheus TYPE of an OTel instrument kind. */
export function prometheusTypeOf(instrument: InstrumentKind): PrometheusType {
  switch (instrument) {
    case 'counter':
      return 'counter';
    case 'histogram':
      return 'histogram';
    case 'updowncounter':
    case 'gauge':
      return 'gauge';
  }
}
