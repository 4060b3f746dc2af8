/**
 * What a contract adds to its registry for dashboards, alert rules and docs: the template variables,
 * the seed document's own example queries, and the alert rules with their promtool test cases.
 * Everything else (one panel per family, its query, unit and legend) comes from the registry.
 */
import type { ComponentContractId } from '../../semconv/index.ts';

/** A seed document's example query, shown as a panel in the "Seed examples" row. */
export interface SeedPanel {
  readonly title: string;
  /** The query as the seed writes it (a correction is stated in `note`). */
  readonly expr: string;
  /** Grafana unit id (`s`, `Bps`, `percent`, `short` ...). */
  readonly unit: string;
  readonly legend?: string;
  /** Where the query differs from the seed, and why. */
  readonly note?: string;
}

/** One input series of a promtool test: `name{labels}` and promtool's expanding notation (`0+60x20`). */
export interface TestSeries {
  readonly series: string;
  readonly values: string;
}

/** The comparison that turns an alert's query into a condition. */
export type Comparison = '>' | '<' | '>=' | '<=' | '==' | '!=';

/** Severity label of an alert rule. */
export type Severity = 'warning' | 'critical';

/**
 * An alert rule: `query comparison threshold`. Keeping the query apart from its threshold lets the
 * live test evaluate the query alone, to prove the series it reads exist.
 */
export interface AlertSpec {
  readonly alert: string;
  /** Rule group in the contract's rule file (one per control loop or seed section). */
  readonly group: string;
  /** The PromQL whose value is compared; it names at least one documented family. */
  readonly query: string;
  readonly comparison: Comparison;
  readonly threshold: number;
  /** Prometheus duration (`2m`), or undefined to fire on the first evaluation. */
  readonly for?: string;
  readonly severity: Severity;
  /** One line naming the family the rule reads. */
  readonly summary: string;
  /** The family this alert is about (checked to be documented, and named in the summary). */
  readonly family: string;
  /** A promtool case in which the alert fires, and the labels of the alert it fires with (severity and contract aside). */
  readonly fires: { readonly input: readonly TestSeries[]; readonly labels: Readonly<Record<string, string>> };
  /** A promtool case in which it stays quiet. */
  readonly quiet: { readonly input: readonly TestSeries[] };
}

/** The per-contract part of the generated dashboards, rules and docs. */
export interface ContractLayout {
  readonly contract: ComponentContractId;
  readonly title: string;
  /** Labels offered as dashboard variables: the contract's instance labels plus family labels worth filtering on. */
  readonly variables: readonly string[];
  readonly seedPanels: readonly SeedPanel[];
  readonly alerts: readonly AlertSpec[];
}
