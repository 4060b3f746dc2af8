import type { ContractSpec } from '../../semconv/types.ts';
import { ContractIndex, type ObservationSink, type ObservedType } from './model.ts';
import { ObservationStore, type ObservationLimits } from './observations.ts';
import { createRules } from './rules/index.ts';
import { ViolationCollector, type Violation } from './violations.ts';

/** Per-contract summary of a check. */
export interface ContractSummary {
  readonly id: string;
  readonly documented: number;
  /** Documented families the target exposes (with or without samples). */
  readonly present: number;
  /** Families under the prefix that the contract does not document. */
  readonly undocumented: number;
}

/** One observed family, for `--json`. */
export interface FamilySummary {
  readonly name: string;
  readonly type: ObservedType;
  readonly series: number;
  readonly seriesExact: boolean;
  /** Contract the family belongs to, if any of the checked ones. */
  readonly contract?: string;
  readonly documented: boolean;
}

/** Outcome of a check. */
export interface CheckResult {
  /** True when there is no violation. */
  readonly ok: boolean;
  readonly contracts: readonly ContractSummary[];
  readonly violations: readonly Violation[];
  /** Violations not kept because of the report's bound (0 normally). */
  readonly droppedViolations: number;
  readonly families: readonly FamilySummary[];
  /** Families outside every checked contract (another component's, process_*, otel_contracts_*). */
  readonly otherFamilies: number;
  readonly series: number;
}

/** A check in progress: feed `sink`, then call `finish`. */
export interface CheckRun {
  readonly sink: ObservationSink;
  /** The checked contracts' name and prefix index. */
  readonly index: ContractIndex;
  finish(): CheckResult;
}

/**
 * Starts a check of the given contracts: observations fed to `sink` (by the exposition parser or the
 * OTLP converter) go through the series rules as they stream; `finish()` runs the family rules
 * (missing, TYPE, undocumented, cardinality) and returns the result.
 */
export function createCheck(contracts: readonly ContractSpec[], limits?: ObservationLimits): CheckRun {
  const index = new ContractIndex(contracts);
  const rules = createRules();
  const violations = new ViolationCollector();
  const store = new ObservationStore(index, rules, violations, limits);
  return {
    sink: store,
    index,
    finish(): CheckResult {
      const families = store.families;
      for (const r of rules) r.onFinish?.({ contracts, index, families }, violations);
      const summaries: FamilySummary[] = [];
      let other = 0;
      const perContract = new Map(contracts.map((c) => [c.id, { present: 0, undocumented: 0 }]));
      for (const f of families.values()) {
        const owner = index.ownerOf(f.name);
        if (!owner) other++;
        else {
          const s = perContract.get(owner.contract.id);
          if (s) {
            if (owner.spec) s.present++;
            else s.undocumented++;
          }
        }
        summaries.push({
          name: f.name,
          type: f.type,
          series: f.seriesCount,
          seriesExact: f.seriesExact,
          ...(owner ? { contract: owner.contract.id } : {}),
          documented: Boolean(owner?.spec),
        });
      }
      const list = violations.list();
      return {
        ok: list.length === 0 && violations.droppedCount === 0,
        contracts: contracts.map((c) => ({ id: c.id, documented: c.families.length, ...(perContract.get(c.id) ?? { present: 0, undocumented: 0 }) })),
        violations: list,
        droppedViolations: violations.droppedCount,
        families: summaries,
        otherFamilies: other,
        series: store.seriesTotal,
      };
    },
  };
}
