import type { ContractSpec } from '../../semconv/types.ts';
import { componentOf } from './components.ts';
import { ContractIndex, type CheckSink } from './model.ts';
import { ObservationStore, type ObservationLimits } from './observations.ts';
import { OtlpNameResolver } from './otlp/resolve-name.ts';
import { planRequirements, TieWatcher } from './requirements.ts';
import { buildResult, type CheckResult } from './result.ts';
import { createRules, findRenames } from './rules/index.ts';
import { ViolationCollector } from './violations.ts';

export type { CheckResult, ContractSummary, FamilySummary, OtlpNamingSummary } from './result.ts';

/** Options of {@link createCheck}. */
export interface CheckRunOptions extends ObservationLimits {
  /** Let `family_not_observed` findings pass (they are listed under `allowed`): a short or quiet run sees drift only. */
  readonly allowUnobserved?: boolean;
  /** A trc component (`control-plane`, `projections`, `scheduler`, `agent`, `edge`): only its families are required. */
  readonly component?: string;
}

/** A check in progress: feed `sink`, then call `finish`. */
export interface CheckRun {
  readonly sink: CheckSink;
  /** The checked contracts' name and prefix index. */
  readonly index: ContractIndex;
  /** Names OTLP metrics after the contracts (for the OTLP receiver). */
  readonly resolver: OtlpNameResolver;
  finish(): CheckResult;
}

/**
 * Starts a check of the given contracts: observations fed to `sink` (by the exposition reader or the
 * OTLP converter) go through the series and sample rules as they stream; `finish()` plans which
 * families are required, matches absent families with likely renames, runs the family rules (presence,
 * TYPE, undocumented, translation, units, buckets, consistency, cardinality) and returns the result.
 * @throws Error for an unknown component, or a component with contracts other than trc alone.
 */
export function createCheck(contracts: readonly ContractSpec[], opts: CheckRunOptions = {}): CheckRun {
  if (opts.component !== undefined && (contracts.length !== 1 || contracts[0]?.id !== 'trc')) {
    throw new Error(`--component ${opts.component} audits one trc component: use it with --contract trc`);
  }
  const component = opts.component !== undefined ? componentOf(contracts[0] as ContractSpec, opts.component) : undefined;
  const index = new ContractIndex(contracts);
  const rules = createRules();
  const watcher = new TieWatcher(contracts);
  const violations = new ViolationCollector();
  const store = new ObservationStore(index, [watcher, ...rules], violations, opts);
  return {
    sink: store,
    index,
    resolver: new OtlpNameResolver(index),
    finish(): CheckResult {
      const families = store.families;
      const plan = planRequirements(contracts, families, watcher, component);
      const renames = findRenames(index, families);
      for (const r of rules) r.onFinish?.({ contracts, index, families, plan, renames }, violations);
      const all = violations.list();
      const allowed = opts.allowUnobserved ? all.filter((v) => v.rule === 'family_not_observed') : [];
      return buildResult(
        { contracts, index, families, plan, renames, series: store.seriesTotal },
        { violations: opts.allowUnobserved ? all.filter((v) => v.rule !== 'family_not_observed') : all, allowed, dropped: violations.droppedCount },
      );
    },
  };
}
