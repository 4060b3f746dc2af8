// The part specs of the scaled topology: VictoriaMetrics shards, vmagent, backend and gateway collectors
// and HAProxy, each with its binary, arguments, environment, ports and health URL, in start order.
import { join, resolve } from 'node:path';
import { findExecutable, HOST, PROVISION_HINT, collectorBinOf, provisionedBin } from './parts.ts';
import type { PartSpec, Resolved } from './parts.ts';
import { renderHaproxyConfig } from './haproxy-config.ts';
import { ordinals, scaledPorts } from './topology.ts';
import type { ScaledLayout, ScaledPortMap } from './topology.ts';

/** The VictoriaMetrics release provision.sh installs (`go install` of the release tag). */
export const VICTORIA_METRICS_VERSION = 'v1.151.0';

/** The labels vmagent shards on: all series of one sidecar (one job, one instance) land on one shard. */
export const SHARD_BY_LABELS = ['job', 'instance'] as const;

const url = (port: number, path = '') => `http://${HOST}:${port}${path}`;

/** A shard's storage directory in the state directory. */
export function shardDataDir(r: Resolved, n: number): string {
  return join(r.stateDir, `shard-${n}-data`);
}

function shardSpec(r: Resolved, ports: ScaledPortMap, n: number, bin: string): PartSpec {
  const port = ports.shard(n);
  return {
    name: `shard-${n}`,
    bin,
    args: [
      `-httpListenAddr=${HOST}:${port}`,
      `-storageDataPath=${shardDataDir(r, n)}`,
      '-retentionPeriod=2d',
      // Pushed data is complete when it arrives: show it at once, not 30 s later (the default, made for
      // scrapes still in flight).
      '-search.latencyOffset=1s',
    ],
    env: { ...process.env },
    ports: [{ port, what: 'VictoriaMetrics HTTP (Prometheus query API, /api/v1/write, /api/v1/export)' }],
    listen: [`${url(port)} (Prometheus query API: /api/v1/query, /api/v1/export, UI /vmui)`],
    url: url(port),
    readyUrl: url(port, '/health'),
    installHint: `${PROVISION_HINT}, or set VICTORIA_METRICS_BIN`,
    dataDirs: [shardDataDir(r, n)],
  };
}

function vmagentSpec(r: Resolved, layout: ScaledLayout, ports: ScaledPortMap, bin: string): PartSpec {
  const queueDir = join(r.stateDir, 'vmagent-queue');
  return {
    name: 'vmagent',
    bin,
    args: [
      `-httpListenAddr=${HOST}:${ports.vmagent}`,
      ...ordinals(layout.shards).map((n) => `-remoteWrite.url=${url(ports.shard(n), '/api/v1/write')}`),
      '-remoteWrite.shardByURL',
      `-remoteWrite.shardByURL.labels=${SHARD_BY_LABELS.join(',')}`,
      // One on-disk queue per shard: a shard that is down gets its samples when it is back.
      `-remoteWrite.tmpDataPath=${queueDir}`,
      // Retry a shard that was down at least every 2 s (default: backing off to 1 min).
      '-remoteWrite.retryMaxInterval=2s',
    ],
    env: { ...process.env },
    ports: [{ port: ports.vmagent, what: 'vmagent HTTP (remote write in, /health, /metrics)' }],
    listen: [`${url(ports.vmagent, '/api/v1/write')} (remote write in, sharded by ${SHARD_BY_LABELS.join(',')} over ${layout.shards} shards)`],
    url: url(ports.vmagent),
    readyUrl: url(ports.vmagent, '/health'),
    installHint: `${PROVISION_HINT}, or set VMAGENT_BIN`,
    dataDirs: [queueDir],
  };
}

function collectorEnv(health: number, telemetry: number, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    OTELCOL_HEALTH_ENDPOINT: `${HOST}:${health}`,
    OTELCOL_TELEMETRY_HOST: HOST,
    OTELCOL_TELEMETRY_PORT: String(telemetry),
    ...extra,
  };
}

function backendSpec(r: Resolved, ports: ScaledPortMap, n: number, bin: string): PartSpec {
  const p = ports.backend(n);
  return {
    name: `backend-${n}`,
    bin,
    args: ['--config', join(r.configDir, 'collector-backend.yaml')],
    env: collectorEnv(p.health, p.telemetry, {
      OTELCOL_OTLP_GRPC_ENDPOINT: `${HOST}:${p.grpc}`,
      PROMETHEUS_REMOTE_WRITE_URL: url(ports.vmagent, '/api/v1/write'),
    }),
    ports: [
      { port: p.grpc, what: 'OTLP/gRPC from the gateways' },
      { port: p.health, what: 'health_check' },
      { port: p.telemetry, what: 'own telemetry' },
    ],
    listen: [`${HOST}:${p.grpc} (OTLP/gRPC from the gateways)`, `${url(p.telemetry, '/metrics')} (own metrics)`],
    url: `${HOST}:${p.grpc}`,
    readyUrl: url(p.health, '/'),
    installHint: PROVISION_HINT,
  };
}

function gatewaySpec(r: Resolved, layout: ScaledLayout, ports: ScaledPortMap, n: number, bin: string): PartSpec {
  const p = ports.gateway(n);
  const backends = ordinals(layout.backends).map((b) => `${HOST}:${ports.backend(b).grpc}`);
  return {
    name: `gateway-${n}`,
    bin,
    args: ['--config', join(r.configDir, 'collector-gateway.yaml')],
    env: collectorEnv(p.health, p.telemetry, {
      OTELCOL_OTLP_GRPC_ENDPOINT: `${HOST}:${p.grpc}`,
      OTELCOL_OTLP_HTTP_ENDPOINT: `${HOST}:${p.http}`,
      OTELCOL_LB_BACKENDS: `[${backends.join(', ')}]`,
    }),
    ports: [
      { port: p.grpc, what: 'OTLP/gRPC' },
      { port: p.http, what: 'OTLP/HTTP' },
      { port: p.health, what: 'health_check' },
      { port: p.telemetry, what: 'own telemetry' },
    ],
    listen: [`${url(p.http, '/v1/metrics')} (OTLP/HTTP), ${HOST}:${p.grpc} (OTLP/gRPC)`, `${url(p.telemetry, '/metrics')} (own metrics)`],
    url: url(p.http),
    address: `${HOST}:${p.grpc}, ${HOST}:${p.http}`,
    readyUrl: url(p.health, '/'),
    installHint: PROVISION_HINT,
  };
}

function haproxySpec(r: Resolved, layout: ScaledLayout, ports: ScaledPortMap, bin: string): PartSpec {
  const path = join(r.stateDir, 'haproxy.cfg');
  const content = renderHaproxyConfig({
    bindHost: HOST,
    otlpGrpcPort: ports.otlpGrpc,
    otlpHttpPort: ports.otlpHttp,
    monitorPort: ports.haproxyMonitor,
    gateways: ordinals(layout.gateways).map((n) => {
      const p = ports.gateway(n);
      return { name: `gateway-${n}`, host: HOST, grpcPort: p.grpc, httpPort: p.http, healthPort: p.health };
    }),
  });
  return {
    name: 'haproxy',
    bin,
    // -db: in the foreground, so that the PID is HAProxy's own and its log lines go to its log file.
    args: ['-db', '-f', path],
    env: { ...process.env },
    ports: [
      { port: ports.otlpGrpc, what: 'OTLP/gRPC ingress' },
      { port: ports.otlpHttp, what: 'OTLP/HTTP ingress' },
      { port: ports.haproxyMonitor, what: 'HAProxy monitor and stats' },
    ],
    listen: [
      `${url(ports.otlpHttp, '/v1/metrics')} (OTLP/HTTP), ${HOST}:${ports.otlpGrpc} (OTLP/gRPC), round-robin over ${layout.gateways} gateways`,
      `${url(ports.haproxyMonitor, '/stats')} (stats), ${url(ports.haproxyMonitor, '/healthz')} (200 while a gateway is up)`,
    ],
    url: url(ports.otlpHttp),
    address: `${HOST}:${ports.otlpGrpc}, ${HOST}:${ports.otlpHttp}`,
    readyUrl: url(ports.haproxyMonitor, '/healthz'),
    installHint: `${PROVISION_HINT} (Debian's haproxy), or set HAPROXY_BIN`,
    configFile: { path, content },
  };
}

/** Debian installs HAProxy in /usr/sbin, which is not on every user's PATH. */
function haproxyBinOf(r: Resolved): string {
  const configured = r.opts.scaled?.haproxyBin ?? process.env.HAPROXY_BIN;
  if (configured) return configured;
  return findExecutable('haproxy') ?? (findExecutable('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy');
}

/** The specs of every process of the scaled topology `layout`, in start order (storage first, HAProxy last). */
export function buildScaledSpecs(r: Resolved, layout: ScaledLayout): PartSpec[] {
  const ports = scaledPorts(layout);
  const s = r.opts.scaled ?? {};
  const collector = collectorBinOf(r);
  const vm = resolve(r.root, s.victoriaMetricsBin ?? process.env.VICTORIA_METRICS_BIN ?? provisionedBin(r.root, 'victoriametrics', 'victoria-metrics'));
  const vmagent = resolve(r.root, s.vmagentBin ?? process.env.VMAGENT_BIN ?? provisionedBin(r.root, 'victoriametrics', 'vmagent'));
  return [
    ...ordinals(layout.shards).map((n) => shardSpec(r, ports, n, vm)),
    vmagentSpec(r, layout, ports, vmagent),
    ...ordinals(layout.backends).map((n) => backendSpec(r, ports, n, collector)),
    ...ordinals(layout.gateways).map((n) => gatewaySpec(r, layout, ports, n, collector)),
    haproxySpec(r, layout, ports, haproxyBinOf(r)),
  ];
}
