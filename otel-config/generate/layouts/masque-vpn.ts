/** masque-vpn: dashboard variables, the seed's example queries and its two alerting rules, plus TUN and drops. */
import { gaugeCompare, rateAbove, testSeries } from '../alerts.ts';
import type { ContractLayout } from '../layout.ts';

/** masque-vpn's layout. */
export const masqueVpnLayout: ContractLayout = {
  contract: 'masque-vpn',
  title: 'MASQUE VPN (masque_vpn_)',
  variables: ['client_id'],
  seedPanels: [
    { title: 'Active connections', expr: 'masque_vpn_active_connections', unit: 'short' },
    { title: 'Connection success rate', expr: 'rate(masque_vpn_total_connections[5m])', unit: 'ops' },
    {
      title: 'Average packet processing time',
      expr: 'rate(masque_vpn_packet_processing_duration_seconds_sum[5m]) / rate(masque_vpn_packet_processing_duration_seconds_count[5m])',
      unit: 's',
      legend: '{{direction}}',
    },
    { title: 'IP pool utilization', expr: '(masque_vpn_ip_pool_used / masque_vpn_ip_pool_total) * 100', unit: 'percent' },
    { title: 'Error rate by type', expr: 'rate(masque_vpn_errors_total[5m])', unit: 'ops', legend: '{{error_type}}' },
    { title: 'MASQUE request latency (95th percentile)', expr: 'histogram_quantile(0.95, rate(masque_vpn_masque_request_duration_seconds_bucket[5m]))', unit: 's' },
  ],
  alerts: [
    // The seed's "Alerting Rules", expressions as written there.
    {
      alert: 'HighErrorRate',
      group: 'masque-vpn',
      family: 'masque_vpn_errors_total',
      query: 'rate(masque_vpn_errors_total[5m])',
      comparison: '>',
      threshold: 0.1,
      for: '2m',
      severity: 'warning',
      summary: 'High error rate in MASQUE VPN (masque_vpn_errors_total)',
      fires: { input: [testSeries.counter('masque_vpn_errors_total', { error_type: 'connection' }, 60)], labels: { error_type: 'connection' } },
      quiet: { input: [testSeries.counter('masque_vpn_errors_total', { error_type: 'connection' }, 0)] },
    },
    {
      alert: 'IPPoolExhaustion',
      group: 'masque-vpn',
      family: 'masque_vpn_ip_pool_available',
      query: '(masque_vpn_ip_pool_available / masque_vpn_ip_pool_total)',
      comparison: '<',
      threshold: 0.1,
      for: '1m',
      severity: 'critical',
      summary: 'IP pool nearly exhausted (masque_vpn_ip_pool_available / masque_vpn_ip_pool_total)',
      fires: { input: [testSeries.gauge('masque_vpn_ip_pool_available', {}, 5), testSeries.gauge('masque_vpn_ip_pool_total', {}, 254)], labels: {} },
      quiet: { input: [testSeries.gauge('masque_vpn_ip_pool_available', {}, 200), testSeries.gauge('masque_vpn_ip_pool_total', {}, 254)] },
    },
    gaugeCompare({
      alert: 'MasqueTunInterfaceDown',
      group: 'masque-vpn-system',
      family: 'masque_vpn_tun_interface_status',
      comparison: '==',
      threshold: 0,
      firing: 0,
      quiet: 1,
      for: '1m',
      severity: 'critical',
      summary: 'The TUN interface is down (masque_vpn_tun_interface_status == 0)',
    }),
    rateAbove({
      alert: 'MasquePacketDrops',
      group: 'masque-vpn-system',
      family: 'masque_vpn_packet_drops_total',
      by: { reason: 'oversized' },
      threshold: 1,
      for: '5m',
      severity: 'warning',
      summary: 'More than one packet dropped per second (masque_vpn_packet_drops_total)',
    }),
  ],
};
