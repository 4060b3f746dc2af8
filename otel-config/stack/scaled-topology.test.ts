/**
 * The scaled topology's layout and configuration without starting it (the e2e suite starts it): ports that
 * never collide, a start order from storage to ingress, vmagent sharding on job,instance, the gateway list
 * the load-balancing exporter gets, an HAProxy configuration HAProxy itself accepts (and the compose
 * profile's copy current with the generator), and one topology at a time in a state directory.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findProgram, REPO_ROOT } from '../../test/processes.ts';
import { COMPOSE_HAPROXY } from './compose-haproxy.ts';
import { renderHaproxyConfig } from './haproxy-config.ts';
import { parseGatewaysUp } from './haproxy-stats.ts';
import { STACK_PORTS, StackError, resolveOptions } from './parts.ts';
import { VICTORIA_METRICS_VERSION } from './scaled-parts.ts';
import { procStartTicks } from './pid-files.ts';
import { claimTopology, releaseTopology } from './topology-guard.ts';
import { readTopologyRecord } from './topology-record.ts';
import { SCALED_MAX_PER_TIER, inStopOrder, ordinals, scaledLayout, scaledPartNames, scaledPorts } from './topology.ts';
import type { ScaledLayout } from './topology.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'scaled-unit-'));
  dirs.push(d);
  return d;
}

function allPorts(l: ScaledLayout): number[] {
  const p = scaledPorts(l);
  return [
    p.otlpGrpc,
    p.otlpHttp,
    p.haproxyMonitor,
    p.vmagent,
    ...ordinals(l.gateways).flatMap((n) => Object.values(p.gateway(n))),
    ...ordinals(l.backends).flatMap((n) => Object.values(p.backend(n))),
    ...ordinals(l.shards).map((n) => p.shard(n)),
  ];
}

describe('scaled layout', () => {
  it('defaults to 2 gateways, 2 backends, 2 shards on the documented ports, and refuses counts outside 1..9', () => {
    const l = scaledLayout();
    expect(l).toEqual({ gateways: 2, backends: 2, shards: 2, portOffset: 0 });
    const p = scaledPorts(l);
    expect([p.otlpGrpc, p.otlpHttp, p.shard(1), p.shard(2), p.vmagent, p.haproxyMonitor]).toEqual([4317, 4318, 8428, 8438, 8429, 8404]);
    expect(p.gateway(1)).toEqual({ grpc: 14011, http: 14012, health: 14013, telemetry: 14014 });
    expect(p.backend(2)).toEqual({ grpc: 14121, health: 14123, telemetry: 14124 });
    for (const bad of [0, 10, 1.5, -1]) expect(() => scaledLayout({ gateways: bad })).toThrow(/--gateways/);
    expect(() => scaledLayout({ shards: 10 })).toThrow(/--shards .*1 to 9/);
  });

  it('never gives two processes one port, shares only the OTLP ingress with the single-node stack, and moves every port by the offset', () => {
    const max = scaledLayout({ gateways: SCALED_MAX_PER_TIER, backends: SCALED_MAX_PER_TIER, shards: SCALED_MAX_PER_TIER });
    const ports = allPorts(max);
    expect(new Set(ports).size).toBe(ports.length);
    const single = new Set<number>(Object.values(STACK_PORTS));
    expect(ports.filter((p) => single.has(p)).sort()).toEqual([4317, 4318]);
    const moved = allPorts({ ...max, portOffset: 10_000 });
    expect(moved).toEqual(ports.map((p) => p + 10_000));
    expect(moved.filter((p) => single.has(p))).toEqual([]);
  });

  it('starts storage first and the ingress last, and stops in the other order', () => {
    const names = scaledPartNames(scaledLayout({ gateways: 1, backends: 2, shards: 3 }));
    expect(names).toEqual(['shard-1', 'shard-2', 'shard-3', 'vmagent', 'backend-1', 'backend-2', 'gateway-1', 'haproxy']);
    expect(inStopOrder(names)).toEqual(['haproxy', 'gateway-1', 'backend-1', 'backend-2', 'vmagent', 'shard-1', 'shard-2', 'shard-3']);
    expect(inStopOrder(['prometheus', 'pushgateway', 'collector'])).toEqual(['collector', 'pushgateway', 'prometheus']);
  });
});

describe('scaled part specs', () => {
  it('vmagent shards on job,instance over every shard; gateways balance over every backend; backends write to vmagent', () => {
    const r = resolveOptions({ stateDir: stateDir(), topology: 'scaled', scaled: { gateways: 2, backends: 3, shards: 2 } });
    expect([...r.specs.keys()]).toEqual(r.parts);
    const vmagent = r.specs.get('vmagent')!;
    expect(vmagent.args).toContain('-remoteWrite.shardByURL');
    expect(vmagent.args).toContain('-remoteWrite.shardByURL.labels=job,instance');
    expect(vmagent.args.filter((a) => a.startsWith('-remoteWrite.url='))).toEqual(['-remoteWrite.url=http://127.0.0.1:8428/api/v1/write', '-remoteWrite.url=http://127.0.0.1:8438/api/v1/write']);
    expect(vmagent.args.some((a) => a.includes('usePrometheusNaming'))).toBe(false);
    expect(r.specs.get('gateway-2')!.env.OTELCOL_LB_BACKENDS).toBe('[127.0.0.1:14111, 127.0.0.1:14121, 127.0.0.1:14131]');
    expect(r.specs.get('gateway-2')!.args).toEqual(['--config', join(REPO_ROOT, 'otel-config', 'collector-gateway.yaml')]);
    expect(r.specs.get('backend-3')!.env.PROMETHEUS_REMOTE_WRITE_URL).toBe('http://127.0.0.1:8429/api/v1/write');
    expect(r.specs.get('haproxy')!.configFile?.content).toContain('server gateway-2 127.0.0.1:14022 check port 14023');
  });

  it('provision.sh installs the VictoriaMetrics release the stack and the compose profile name', () => {
    expect(readFileSync(join(REPO_ROOT, 'otel-config', 'provision.sh'), 'utf8')).toContain(`VM_VERSION="${VICTORIA_METRICS_VERSION}"`);
    const compose = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    const tags = [...compose.matchAll(/image: victoriametrics\/[a-z]+:(v[0-9.]+)/g)].map((m) => m[1]);
    expect(tags.length).toBe(4); // vmagent, vminsert, vmstorage (both nodes), vmselect
    expect(new Set(tags)).toEqual(new Set([VICTORIA_METRICS_VERSION]));
  });

  it('names only the parts the topology has', () => {
    expect(() => resolveOptions({ stateDir: stateDir(), topology: 'scaled', parts: ['collector'] })).toThrow(StackError);
    expect(() => resolveOptions({ stateDir: stateDir(), parts: ['haproxy'] })).toThrow(/unknown part 'haproxy' in the single topology/);
  });
});

describe('HAProxy configuration', () => {
  it('is accepted by HAProxy (haproxy -c) for the native layout', () => {
    const haproxy = findProgram('haproxy');
    expect(haproxy, 'haproxy is provisioned (npm run provision)').toBeTruthy();
    const r = resolveOptions({ stateDir: stateDir(), topology: 'scaled' });
    const cfg = r.specs.get('haproxy')!.configFile!;
    writeFileSync(cfg.path, cfg.content);
    const check = spawnSync(haproxy!, ['-c', '-f', cfg.path], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout + check.stderr).not.toMatch(/WARNING|ALERT/);
  });

  it("docker-compose.yml's cluster profile mounts exactly what the generator writes", () => {
    expect(readFileSync(join(REPO_ROOT, 'otel-config', 'cluster', 'haproxy.cfg'), 'utf8')).toBe(renderHaproxyConfig(COMPOSE_HAPROXY));
  });

  it('stats CSV: counts the gateways HAProxy sees up', () => {
    const csv = [
      '# pxname,svname,qcur,status,weight',
      'gateways_http,gateway-1,0,UP,1',
      'gateways_http,gateway-2,0,DOWN,1',
      'gateways_http,BACKEND,0,UP,1',
      'gateways_grpc,gateway-1,0,UP,1',
      'otlp_http,FRONTEND,,OPEN,',
    ].join('\n');
    expect(parseGatewaysUp(csv)).toEqual({ up: 1, total: 2, states: { 'gateway-1': 'UP', 'gateway-2': 'DOWN' } });
    expect(parseGatewaysUp('no,header\n')).toBeNull();
  });
});

describe('one topology at a time', () => {
  /** A PID file naming this test process as the part `name`: alive and ours, as a running part is. */
  function fakeRunning(dir: string, name: string): void {
    const rec = { pid: process.pid, startTicks: procStartTicks(process.pid), bin: process.execPath, args: [], startedAt: new Date().toISOString() };
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(rec));
  }

  it('refuses the scaled topology while the single-node one runs, and the other way round', () => {
    const a = stateDir();
    fakeRunning(a, 'collector');
    expect(() => claimTopology(resolveOptions({ stateDir: a, topology: 'scaled' }))).toThrow(/the single-node topology is up \(collector\)/);
    const b = stateDir();
    fakeRunning(b, 'gateway-1');
    expect(() => claimTopology(resolveOptions({ stateDir: b, topology: 'single' }))).toThrow(/the scaled topology is up \(gateway-1\)/);
  });

  it('records the scaled layout, so that status and down without flags act on it, and forgets it once nothing runs', () => {
    const dir = stateDir();
    claimTopology(resolveOptions({ stateDir: dir, topology: 'scaled', scaled: { gateways: 3 } }));
    expect(readTopologyRecord(dir)?.layout).toEqual({ gateways: 3, backends: 2, shards: 2, portOffset: 0 });
    const r = resolveOptions({ stateDir: dir });
    expect(r.topology).toBe('scaled');
    expect(r.parts).toContain('gateway-3');
    fakeRunning(dir, 'gateway-1');
    expect(() => claimTopology(resolveOptions({ stateDir: dir, topology: 'scaled', scaled: { gateways: 2 } }))).toThrow(/a scaled topology with 3 gateways/);
    releaseTopology(r);
    expect(readTopologyRecord(dir)).not.toBeNull();
    rmSync(join(dir, 'gateway-1.json'));
    releaseTopology(r);
    expect(readTopologyRecord(dir)).toBeNull();
    expect(resolveOptions({ stateDir: dir }).topology).toBe('single');
  });
});
