/**
 * Normalized shapes of a metric contract, as loaded from a `semconv/*.yaml` registry.
 * `semconv/` knows nothing of the OTel SDK: these are plain data, shared by the pipeline,
 * the compliance check and the generated typed contracts.
 */

/** The OTel instrument a family is recorded through. */
export type InstrumentKind = 'counter' | 'updowncounter' | 'gauge' | 'histogram';

/** The Prometheus `# TYPE` a family is exposed with. */
export type PrometheusType = 'counter' | 'gauge' | 'histogram';

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
 * The revision of the seed document a contract keeps, as its registry records it
 * (`annotations.otel_contracts.contract.seed`): the file under docs/seeds/ and where upstream it was taken from.
 * Read with `parseRegistryDetails` / `loadRegistryDetails` of `semconv/load.ts`; not part of {@link ContractSpec}.
 */
export interface SeedReference {
  /** File name under docs/seeds/, as {@link ContractSpec.seed}. */
  readonly file: string;
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
