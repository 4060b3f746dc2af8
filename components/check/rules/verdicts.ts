/**
 * Label values a rule found wrong only at the end (a `client_name` that `ops_proxy_client_up` never
 * reports), shared with the rules that count budgets, so that one wrong value is reported once and
 * never counted again against a budget.
 */
export class WrongValues {
  private readonly wrong = new Map<string, Set<number>>();

  /** Marks a value (by its 53-bit hash) of a contract's label as wrong. */
  mark(contract: string, label: string, valueHash: number): void {
    const key = `${contract}\u0000${label}`;
    let s = this.wrong.get(key);
    if (!s) this.wrong.set(key, (s = new Set()));
    s.add(valueHash);
  }

  /** True when the value was marked wrong. */
  has(contract: string, label: string, valueHash: number): boolean {
    return this.wrong.get(`${contract}\u0000${label}`)?.has(valueHash) ?? false;
  }
}
