import { MAX_RULES, type EgressRule, type NetworkPolicy } from '../policy.ts';

/**
 * Policies for tests and the benchmark, written against the test zone of `authoritative.ts`
 * (`*.example.test` answers, anything else is NXDOMAIN).
 */

/** The name the {@link bigPolicy} denies and the small policies of the tests allow. */
export const FLIP_NAME = 'flip.example.test';

/**
 * A policy of `rules` rules (default {@link MAX_RULES}), default deny: filler rules first (alternately
 * `*.zone-N.filler.test` and `host-N.filler.test`, all allow), then `deny flip.example.test`, then
 * `allow *.example.test`. So only its last two rules decide names of the test zone: `flip.example.test`
 * is denied, every other `*.example.test` name allowed.
 */
export function bigPolicy(rules = MAX_RULES): NetworkPolicy {
  const egress: EgressRule[] = Array.from({ length: rules - 2 }, (_, i) => ({ action: 'allow', target: i % 2 ? `host-${i}.filler.test` : `*.zone-${i}.filler.test` }));
  egress.push({ action: 'deny', target: FLIP_NAME }, { action: 'allow', target: '*.example.test' });
  return { default_action: 'deny', egress };
}
