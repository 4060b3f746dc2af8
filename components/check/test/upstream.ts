/**
 * Test fixtures shaped like the upstream implementations' output: expositions as
 * client_golang writes them (a labelled `*Vec` family is left out until its first event; the Go
 * runtime and process families beside the component's), and OTLP/JSON export requests as an OTel SDK
 * sends them (OTel-style dotted names with UCUM units, or the documented Prometheus names).
 */
import { escapeLabelValue } from '../../../instrumentation/scrape/serializer.ts';
import { seededRandom } from '../../../test/prng.ts';

/** One family as a client writes it. */
export interface Fam {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary';
  readonly help?: string;
  /** Label sets (the value is always 1; histograms get `buckets`). */
  readonly series: readonly Record<string, string>[];
  /** Finite bucket bounds of a histogram (default Prometheus' default buckets). */
  readonly buckets?: readonly number[];
  /** A `# UNIT` line (OpenMetrics metadata written into text). */
  readonly unit?: string;
}

/** Prometheus' (and client_golang's `prometheus.DefBuckets`) default buckets. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function labelText(labels: Record<string, string>, extra?: [string, string]): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  if (extra) pairs.push(`${extra[0]}="${extra[1]}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

/** Renders families as client_golang does (HELP, TYPE, samples; `_bucket`/`_sum`/`_count` for histograms). */
export function exposition(families: readonly Fam[]): string {
  let s = '';
  for (const f of families) {
    s += `# HELP ${f.name} ${f.help ?? f.name}\n# TYPE ${f.name} ${f.type}\n`;
    if (f.unit !== undefined) s += `# UNIT ${f.name} ${f.unit}\n`;
    for (const l of f.series) {
      if (f.type === 'histogram') {
        for (const b of f.buckets ?? DEFAULT_BUCKETS) s += `${f.name}_bucket${labelText(l, ['le', String(b)])} 1\n`;
        s += `${f.name}_bucket${labelText(l, ['le', '+Inf'])} 1\n${f.name}_sum${labelText(l)} 0.01\n${f.name}_count${labelText(l)} 1\n`;
      } else if (f.type === 'summary') {
        s += `${f.name}${labelText(l, ['quantile', '0.5'])} 0.01\n${f.name}_sum${labelText(l)} 0.01\n${f.name}_count${labelText(l)} 1\n`;
      } else s += `${f.name}${labelText(l)} 1\n`;
    }
  }
  return s;
}

/** What client_golang's default registry adds to every Go program's exposition. */
export const GO_RUNTIME: readonly Fam[] = [
  { name: 'go_goroutines', type: 'gauge', series: [{}] },
  { name: 'go_threads', type: 'gauge', series: [{}] },
  { name: 'go_memstats_alloc_bytes', type: 'gauge', series: [{}] },
  { name: 'go_info', type: 'gauge', series: [{ version: 'go1.22.5' }] },
  { name: 'process_cpu_seconds_total', type: 'counter', series: [{}] },
  { name: 'process_resident_memory_bytes', type: 'gauge', series: [{}] },
  { name: 'promhttp_metric_handler_requests_total', type: 'counter', series: [{ code: '200' }] },
];

const NODE_POD = { node: 'node-a', pod: 'ops-proxy-0' };

/** The ops proxy's families without a `client_name` (plain gauges and counters with node/pod const labels). */
const OPS_PROXY_UNLABELLED: readonly Fam[] = [
  { name: 'ops_proxy_server_info', type: 'gauge', series: [NODE_POD] },
  { name: 'ops_proxy_clients_total', type: 'gauge', series: [NODE_POD] },
  { name: 'ops_proxy_clients_connected', type: 'gauge', series: [NODE_POD] },
  { name: 'ops_proxy_client_info', type: 'gauge', series: [NODE_POD] },
  { name: 'ops_proxy_data_connections_unexpected_total', type: 'counter', series: [NODE_POD] },
  { name: 'ops_proxy_pending_data_connections', type: 'gauge', series: [NODE_POD] },
];

/** The ops proxy's `client_name` families (client_golang `*Vec`s), with the type each has. */
const OPS_PROXY_BY_NAME: readonly [string, Fam['type'], string?][] = [
  ['ops_proxy_client_up', 'gauge'],
  ['ops_proxy_client_registrations_total', 'counter'],
  ['ops_proxy_client_disconnects_total', 'counter'],
  ['ops_proxy_connections_total', 'counter'],
  ['ops_proxy_connections_active', 'gauge'],
  ['ops_proxy_connections_failed_total', 'counter'],
  ['ops_proxy_connections_bytes_tx_total', 'counter'],
  ['ops_proxy_connections_bytes_rx_total', 'counter'],
  ['ops_proxy_requests_total', 'counter', 'protocol'],
  ['ops_proxy_requests_success_total', 'counter', 'protocol'],
  ['ops_proxy_requests_failed_total', 'counter', 'protocol'],
  ['ops_proxy_latency_seconds', 'gauge', 'protocol'],
  ['ops_proxy_forward_commands_total', 'counter'],
  ['ops_proxy_data_connections_matched_total', 'counter'],
  ['ops_proxy_data_connections_timeout_total', 'counter'],
  ['ops_proxy_proxy_errors_total', 'counter', 'reason'],
];

/** Options of {@link opsProxyExposition}. */
export interface OpsProxyShape {
  /** Right after start: the `client_name` families are not there yet (client_golang omits an empty `*Vec`). */
  readonly quiet?: boolean;
  /** A label added to every family (upstream's `namespace`). */
  readonly extraLabel?: [string, string];
  /** Requests with random Host headers that matched no name: each one's raw Host becomes a `client_name` on `no_client` errors. */
  readonly randomHosts?: number;
  /** A peer that only connects to others (registers services): `ops_proxy_client_info` and nothing of the listening side. */
  readonly connectingOnly?: boolean;
}

/** An upstream ops-proxy exposition (listening and connecting peer, one registered name `app.example.com`). */
export function opsProxyExposition(shape: OpsProxyShape = {}): string {
  const extra = shape.extraLabel ? { [shape.extraLabel[0]]: shape.extraLabel[1] } : {};
  const base = { ...NODE_POD, ...extra };
  const fams: Fam[] = [...GO_RUNTIME, ...OPS_PROXY_UNLABELLED.filter((f) => !shape.connectingOnly || f.name === 'ops_proxy_client_info').map((f) => ({ ...f, series: [base] }))];
  if (!shape.quiet && !shape.connectingOnly) {
    for (const [name, type, second] of OPS_PROXY_BY_NAME) {
      const named = { ...base, client_name: 'app.example.com' };
      const value = second === 'protocol' ? 'https' : second === 'reason' ? 'forward_write_error' : undefined;
      const series: Record<string, string>[] = [second && value ? { ...named, [second]: value } : named];
      if (name === 'ops_proxy_proxy_errors_total') {
        const rnd = seededRandom(28);
        for (let i = 0; i < (shape.randomHosts ?? 0); i++) series.push({ ...base, client_name: `h${Math.floor(rnd() * 1e9).toString(36)}.example.net`, reason: 'no_client' });
      }
      fams.push({ name, type, series });
    }
  }
  return exposition(fams);
}

/** podtrace right after start, as its client_golang registry writes it: every podtrace family is labelled, so none is there yet. */
export function podtraceQuietExposition(): string {
  return exposition(GO_RUNTIME);
}

/** masque-vpn's families as upstream declares them (names as documented; `prefix` replaces `masque_vpn_`). */
export function masqueExposition(opts: { readonly prefix?: string; readonly fastBuckets?: readonly number[] } = {}): string {
  const p = opts.prefix ?? 'masque_vpn_';
  const c = { client_id: 'client-1' };
  const h = (name: string, series: Record<string, string>[], buckets?: readonly number[]): Fam => ({ name: p + name, type: 'histogram', series, ...(buckets ? { buckets } : {}) });
  const fams: Fam[] = [
    ...GO_RUNTIME,
    { name: `${p}active_connections`, type: 'gauge', series: [{}] },
    { name: `${p}total_connections`, type: 'counter', series: [{}] },
    h('connection_duration_seconds', [c]),
    { name: `${p}bytes_sent_total`, type: 'counter', series: [c] },
    { name: `${p}bytes_received_total`, type: 'counter', series: [c] },
    { name: `${p}packets_sent_total`, type: 'counter', series: [c] },
    { name: `${p}packets_received_total`, type: 'counter', series: [c] },
    h('packet_processing_duration_seconds', [{ direction: 'inbound' }], opts.fastBuckets ?? [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0]),
    h('quic_stream_duration_seconds', [c], [1, 5, 10, 30, 60, 300, 600, 1800, 3600]),
    h('masque_request_duration_seconds', [{ method: 'CONNECT' }], opts.fastBuckets ?? [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0]),
    { name: `${p}ip_pool_total`, type: 'gauge', series: [{}] },
    { name: `${p}ip_pool_used`, type: 'gauge', series: [{}] },
    { name: `${p}ip_pool_available`, type: 'gauge', series: [{}] },
    { name: `${p}tun_interface_status`, type: 'gauge', series: [{}] },
    { name: `${p}server_uptime_seconds`, type: 'counter', series: [{}] },
    { name: `${p}errors_total`, type: 'counter', series: [{ error_type: 'connection' }] },
    { name: `${p}packet_drops_total`, type: 'counter', series: [{ reason: 'invalid' }] },
    { name: `${p}masque_requests_total`, type: 'counter', series: [{ method: 'CONNECT', status: 'success' }] },
    { name: `${p}quic_streams_total`, type: 'counter', series: [{ ...c, stream_type: 'bidirectional' }] },
  ];
  return exposition(fams);
}

/** The egress sidecar's families (instance_id on each), in `mode`, with the sections a test names left out. */
export function egressExposition(opts: { readonly mode: 'dns' | 'dns+nft'; readonly without?: readonly string[]; readonly forwardDuration?: Partial<Fam> }): string {
  const i = { instance_id: 'sbx-1' };
  const fams: Fam[] = [
    { name: 'opensandbox_egress_dns_queries_total', type: 'counter', series: [{ ...i, result: 'allowed' }] },
    { name: 'opensandbox_egress_dns_forward_duration_seconds', type: 'histogram', series: [i], ...opts.forwardDuration },
    { name: 'opensandbox_egress_policy_updates_total', type: 'counter', series: [i] },
    { name: 'opensandbox_egress_policy_rule_count', type: 'gauge', series: [i] },
    { name: 'opensandbox_egress_enforcement_mode', type: 'gauge', series: [{ ...i, mode: opts.mode }] },
    { name: 'opensandbox_egress_nft_apply_total', type: 'counter', series: [{ ...i, result: 'success' }] },
    { name: 'opensandbox_egress_nft_resolved_ips_added_total', type: 'counter', series: [i] },
    { name: 'opensandbox_egress_nft_doh_dot_packets_dropped_total', type: 'counter', series: [{ ...i, reason: 'dot_853' }] },
    { name: 'opensandbox_egress_violations_total', type: 'counter', series: [{ ...i, type: 'dns_deny' }] },
    { name: 'opensandbox_egress_info', type: 'gauge', series: [{ ...i, enforcement_mode: opts.mode, version: '1.0.0' }] },
    { name: 'opensandbox_egress_uptime_seconds', type: 'gauge', series: [i] },
  ];
  return exposition(fams.filter((f) => !opts.without?.some((w) => f.name.startsWith(w))));
}
