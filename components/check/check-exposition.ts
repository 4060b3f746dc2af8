import { componentContracts } from '../../semconv/index.ts';
import type { ContractSpec } from '../../semconv/types.ts';
import { createCheck, type CheckResult } from './check.ts';
import { readCheckedExposition } from './read-exposition.ts';

/** What {@link check} reads: exposition text, or a stream of it (a `fetch` body, a file stream). */
export type ExpositionSource = string | AsyncIterable<Uint8Array | string>;

/** Options of {@link check}. */
export interface CheckOptions {
  /** The contracts to check against; default all five component contracts. */
  readonly contracts?: readonly ContractSpec[];
  /** Cap on the exposition's size, in bytes; default 64 MiB. */
  readonly maxBytes?: number;
  /** Let required families that were not observed pass (they are listed in `allowed`). */
  readonly allowUnobserved?: boolean;
  /** With the trc contract alone: the trc component audited (`control-plane`, `projections`, `scheduler`, `agent`, `edge`). */
  readonly component?: string;
}

/**
 * The compliance check of `otel-contracts check` as a function: required families (not observed, or
 * likely renamed) with a TYPE their document gives them, undocumented families under a contract's
 * prefix, units and bucket boundaries, label keys, forbidden labels, enum values, label values tied to
 * another family, raw paths in `path_template`, and budgets for every open-ended label; each finding
 * cites its own contract's document and section (see components/check/README.md).
 *
 *   const result = await check(await (await fetch('http://127.0.0.1:9464/metrics')).text(), { contracts: [egress] });
 *   if (!result.ok) console.log(result.violations);
 *
 * @param exposition a Prometheus text exposition 0.0.4 (must end with a newline, as the format says).
 * @returns the result: `ok` (no violation), per-contract summaries, violations, observed families.
 * @throws TargetError naming the line when the exposition is malformed, truncated or larger than `maxBytes`.
 * @throws Error for a `component` that is unknown or used with contracts other than trc alone.
 */
export async function check(exposition: ExpositionSource, opts: CheckOptions = {}): Promise<CheckResult> {
  const run = createCheck(opts.contracts ?? Object.values(componentContracts), {
    ...(opts.allowUnobserved !== undefined ? { allowUnobserved: opts.allowUnobserved } : {}),
    ...(opts.component !== undefined ? { component: opts.component } : {}),
  });
  await readCheckedExposition(typeof exposition === 'string' ? [exposition] : exposition, run.sink, {
    isHistogramName: (n) => run.index.isDocumentedHistogram(n),
    ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
  });
  return run.finish();
}
