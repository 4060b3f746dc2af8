/**
 * Labels a document ties to another family: their values must be values that family reports. The
 * registry has no field for it yet; the check keeps the rule here.
 */

/** One consistency rule. */
export interface LabelConsistency {
  readonly contract: string;
  readonly label: string;
  /** The family whose values of `label` are the reference set. */
  readonly reference: string;
  /**
   * Values allowed without being in the reference set: otel-contracts' own ops proxy records requests for
   * a Host that matches no registered name under `<unknown>` (one bounded series) instead of the raw Host.
   */
  readonly placeholders: readonly string[];
  /** The document's words, quoted verbatim. */
  readonly quote: string;
}

/** ops-proxy: "`client_name` label is the **registered routing name** (matched against Host/SNI)". */
export const LABEL_CONSISTENCY: readonly LabelConsistency[] = [
  { contract: 'ops-proxy', label: 'client_name', reference: 'ops_proxy_client_up', placeholders: ['<unknown>'], quote: '`client_name` label is the **registered routing name** (matched against Host/SNI).' },
];
