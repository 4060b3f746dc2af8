import { componentContracts } from '../../semconv/index.ts';
import type { ContractSpec } from '../../semconv/types.ts';
import { createCheck, type CheckResult } from './check.ts';
import { readExposition } from '../../instrumentation/exposition/read.ts';

/** What {@link check} reads: exposition text, or a stream of it (a `fetch` body, a file stream). */
export type ExpositionSource = string | AsyncIterable<Uint8Array | string>;

/** Options of {@link check}. */
export interface CheckOptions {
  /** The contracts to check against; default all five component contracts. */
  readonly contracts?: readonly ContractSpec[];
  /** Cap on the exposition's size, in bytes; default 64 MiB. */
  readonly maxBytes?: number;
}

/**
 * The compliance check of `otel-contracts check` as a function (trc seed 002, "Compliance tests" and
 * "Label conventions and cardinality rules", applied to every contract): required families with their
 * documented TYPE, undocumented families under a contract's prefix, label keys, forbidden labels, enum
 * values, raw paths in `path_template`, and series counts against each family's budget.
 *
 *   const result = await check(await (await fetch('http://127.0.0.1:9464/metrics')).text(), { contracts: [egress] });
 *   if (!result.ok) console.log(result.violations);
 *
 * @param exposition a Prometheus text exposition 0.0.4 (must end with a newline, as the format says).
 * @returns the result: `ok` (no violation), per-contract summaries, violations, observed families.
 * @throws TargetError naming the line when the exposition is malformed, truncated or larger than `maxBytes`.
 */
export async function check(exposition: ExpositionSource, opts: CheckOptions = {}): Promise<CheckResult> {
  const run = createCheck(opts.contracts ?? Object.values(componentContracts));
  await readExposition(typeof exposition === 'string' ? [exposition] : exposition, run.sink, {
    isHistogramName: (n) => run.index.isDocumentedHistogram(n),
    ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
  });
  return run.finish();
}
