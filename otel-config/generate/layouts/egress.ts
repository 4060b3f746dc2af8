/** Egress sidecar: dashboard variables and alert rules (forward errors, nftables fallback, violation spikes). */
import { quantileAbove, rateAbove, ratioAbove } from '../alerts.ts';
import type { ContractLayout } from '../layout.ts';

const instance = { instance_id: 'sandbox-1' };

/** The egress sidecar's layout. */
export const egressLayout: ContractLayout = {
  contract: 'egress',
  title: 'Egress sidecar (opensandbox_egress_)',
  variables: ['instance_id'],
  seedPanels: [],
  alerts: [
    ratioAbove({
      alert: 'EgressDnsForwardErrors',
      group: 'egress-dns-proxy',
      family: 'opensandbox_egress_dns_queries_total',
      bad: { result: 'forward_error' },
      good: { result: 'allowed' },
      by: instance,
      threshold: 0.05,
      for: '5m',
      severity: 'warning',
      summary: 'More than 5% of allowed DNS queries fail upstream (opensandbox_egress_dns_queries_total{result="forward_error"})',
    }),
    quantileAbove({
      alert: 'EgressDnsForwardSlow',
      group: 'egress-dns-proxy',
      family: 'opensandbox_egress_dns_forward_duration_seconds',
      quantile: 0.99,
      threshold: 1,
      by: instance,
      for: '5m',
      severity: 'warning',
      summary: 'p99 of DNS forwarding to upstream above 1 s (opensandbox_egress_dns_forward_duration_seconds)',
    }),
    rateAbove({
      alert: 'EgressNftablesFallback',
      group: 'egress-nftables',
      family: 'opensandbox_egress_nft_apply_total',
      only: { result: 'failure' },
      by: instance,
      threshold: 0,
      severity: 'warning',
      summary: 'nftables rules failed to apply; the sidecar runs DNS-only (opensandbox_egress_nft_apply_total{result="failure"})',
    }),
    rateAbove({
      alert: 'EgressViolationSpike',
      group: 'egress-violations',
      family: 'opensandbox_egress_violations_total',
      by: { ...instance, type: 'dns_deny' },
      threshold: 1,
      for: '2m',
      severity: 'warning',
      summary: 'More than one egress policy violation per second (opensandbox_egress_violations_total)',
    }),
  ],
};
