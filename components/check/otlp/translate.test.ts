import { describe, expect, it } from 'vitest';
import { egress, masqueVpn, trc } from '../../../semconv/index.ts';
import { ContractIndex } from '../model.ts';
import type { OtlpMetric } from './decode.ts';
import { OtlpNameResolver } from './resolve-name.ts';
import { collectorDefaultName, escapeWithoutSuffixes, unitSuffixes, type OtlpNameInput } from './translate.ts';

const counter = (name: string, unit: string): OtlpNameInput => ({ name, unit, kind: 'sum', isMonotonic: true });
const gauge = (name: string, unit: string): OtlpNameInput => ({ name, unit, kind: 'gauge', isMonotonic: false });
const upDown = (name: string, unit: string): OtlpNameInput => ({ name, unit, kind: 'sum', isMonotonic: false });
const histogram = (name: string, unit: string): OtlpNameInput => ({ name, unit, kind: 'histogram', isMonotonic: false });

describe("the collector's default translation (otlptranslator UnderscoreEscapingWithSuffixes)", () => {
  it.each([
    // otlptranslator's own documented examples
    [histogram('http.server.request.duration', 's'), 'http_server_request_duration_seconds'],
    [counter('requests.count', '1'), 'requests_count_total'],
    [gauge('memory.usage', 'By'), 'memory_usage_bytes'],
    // annotations are dropped; a monotonic sum gets _total
    [counter('opensandbox.egress.dns.queries', '{query}'), 'opensandbox_egress_dns_queries_total'],
    // every total token moves to the end (DESIGN.md: masque_vpn_total_connections)
    [counter('masque_vpn_total_connections', '1'), 'masque_vpn_connections_total'],
    // a unit word already in the name is not added again
    [counter('masque_vpn_server_uptime_seconds', 's'), 'masque_vpn_server_uptime_seconds_total'],
    // gauges with unit 1 get _ratio; up-down counters and annotations do not
    [gauge('ops_proxy_clients_total', '1'), 'ops_proxy_clients_total_ratio'],
    [upDown('ops_proxy_clients_connected', '1'), 'ops_proxy_clients_connected'],
    [gauge('x.mode', '{mode}'), 'x_mode'],
    // per-units, percent, unknown units, runs of separators, a leading digit
    [gauge('net.io', 'By/s'), 'net_io_bytes_per_second'],
    [gauge('podtrace.resource.utilization', '%'), 'podtrace_resource_utilization_percent'],
    [counter('jobs', 'job'), 'jobs_job_total'],
    [gauge('a..b__c', 'ms'), 'a_b_c_milliseconds'],
    [gauge('2xx.rate', '1'), '_2xx_rate_ratio'],
  ])('%o -> %s', (m, expected) => {
    expect(collectorDefaultName(m)).toBe(expected);
  });

  it('splits units at the first /', () => {
    expect(unitSuffixes('By/s')).toEqual({ main: 'bytes', per: 'per_second' });
    expect(unitSuffixes('{packet}/s')).toEqual({ main: '', per: 'per_second' });
    expect(unitSuffixes('1')).toEqual({ main: '', per: '' });
  });
});

describe('UnderscoreEscapingWithoutSuffixes', () => {
  it('turns each run of other characters into one underscore and adds nothing', () => {
    expect(escapeWithoutSuffixes('opensandbox.egress.dns.queries')).toBe('opensandbox_egress_dns_queries');
    expect(escapeWithoutSuffixes('a__b')).toBe('a__b');
    expect(escapeWithoutSuffixes('a.-b')).toBe('a_b');
    expect(escapeWithoutSuffixes('1st')).toBe('_1st');
    expect(escapeWithoutSuffixes('masque_vpn_total_connections')).toBe('masque_vpn_total_connections');
  });
});

function metric(name: string, unit: string, kind: 'sum' | 'gauge' | 'histogram', isMonotonic = kind === 'sum'): OtlpMetric {
  return { name, unit, kind, isMonotonic, description: '', temporality: 'cumulative', dataPoints: [] } as unknown as OtlpMetric;
}

describe('OtlpNameResolver matches both ways and says which translation applied', () => {
  const resolver = new OtlpNameResolver(new ContractIndex([egress, masqueVpn, trc]));

  it.each([
    [metric('masque_vpn_total_connections', '1', 'sum'), 'masque_vpn_total_connections', 'as-sent'],
    [metric('opensandbox.egress.policy.rule_count', '{rule}', 'gauge'), 'opensandbox_egress_policy_rule_count', 'escaping'],
    [metric('opensandbox.egress.dns.queries', '{query}', 'sum'), 'opensandbox_egress_dns_queries_total', 'default'],
    [metric('opensandbox.egress.dns.forward.duration', 's', 'histogram'), 'opensandbox_egress_dns_forward_duration_seconds', 'default'],
    // from the contract to the metric: the documented name without its unit word is the metric's base
    [metric('opensandbox.egress.dns.forward.duration', 'ms', 'histogram'), 'opensandbox_egress_dns_forward_duration_seconds', 'base-name'],
    [metric('trc_http_request_duration_milliseconds', 'ms', 'histogram'), 'trc_http_request_duration_seconds', 'base-name'],
    [metric('masque.vpn.connections', '{connection}', 'sum'), 'masque_vpn_total_connections', 'base-name'],
    [metric('opensandbox.egress.dns.cache.hits', '{hit}', 'sum'), 'opensandbox_egress_dns_cache_hits_total', 'unmatched'],
    [metric('some_app_requests', '1', 'sum'), 'some_app_requests', 'unmatched'],
  ])('%o -> %s (%s)', (m, family, translation) => {
    expect(resolver.resolve(m)).toMatchObject({ family, translation, sentName: m.name });
  });
});
