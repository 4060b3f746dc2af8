/** Ops proxy: dashboard variables and alert rules (`no_client` errors, DATA timeouts, failures, names down). */
import { gaugeCompare, rateAbove, testSeries } from '../alerts.ts';
import type { ContractLayout } from '../layout.ts';

const peer = { node: 'node-1', pod: 'ops-proxy-0', client_name: 'billing-api' };

/** The ops proxy's layout. */
export const opsProxyLayout: ContractLayout = {
  contract: 'ops-proxy',
  title: 'Ops proxy (ops_proxy_)',
  variables: ['node', 'pod', 'client_name'],
  seedPanels: [],
  alerts: [
    rateAbove({
      alert: 'OpsProxyNoClient',
      group: 'ops-proxy-routing',
      family: 'ops_proxy_proxy_errors_total',
      only: { reason: 'no_client' },
      by: peer,
      threshold: 0,
      for: '2m',
      severity: 'warning',
      summary: 'Requests for a routing name with no registered client (ops_proxy_proxy_errors_total{reason="no_client"})',
    }),
    rateAbove({
      alert: 'OpsProxyDataTimeouts',
      group: 'ops-proxy-tunnel',
      family: 'ops_proxy_data_connections_timeout_total',
      by: peer,
      threshold: 0,
      for: '2m',
      severity: 'warning',
      summary: 'FORWARD sent but no DATA connection arrived in time (ops_proxy_data_connections_timeout_total)',
    }),
    {
      alert: 'OpsProxyRequestFailures',
      group: 'ops-proxy-routing',
      family: 'ops_proxy_requests_failed_total',
      query:
        'sum by (node, pod, client_name) (rate(ops_proxy_requests_failed_total[5m])) / sum by (node, pod, client_name) (rate(ops_proxy_requests_total[5m]))',
      comparison: '>',
      threshold: 0.05,
      for: '5m',
      severity: 'warning',
      summary: 'More than 5% of proxied requests fail (ops_proxy_requests_failed_total / ops_proxy_requests_total)',
      fires: {
        input: [
          testSeries.counter('ops_proxy_requests_failed_total', { ...peer, protocol: 'https' }, 30),
          testSeries.counter('ops_proxy_requests_total', { ...peer, protocol: 'https' }, 60),
        ],
        labels: peer,
      },
      quiet: {
        input: [
          testSeries.counter('ops_proxy_requests_failed_total', { ...peer, protocol: 'https' }, 0),
          testSeries.counter('ops_proxy_requests_total', { ...peer, protocol: 'https' }, 60),
        ],
      },
    },
    gaugeCompare({
      alert: 'OpsProxyClientDown',
      group: 'ops-proxy-registry',
      family: 'ops_proxy_client_up',
      by: peer,
      comparison: '==',
      threshold: 0,
      firing: 0,
      quiet: 1,
      for: '2m',
      severity: 'critical',
      summary: 'A registered routing name is disconnected (ops_proxy_client_up == 0)',
    }),
  ],
};
