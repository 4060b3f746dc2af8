import { describe, expect, it } from 'vitest';
import { Balancer } from './balancer.ts';
import { DEFAULT_HEALTH } from './route-table.ts';
import { parseRoutes, RoutesFileError } from './routes-file.ts';

// The routes file: what it accepts, how names match, and that every bad file is rejected whole with the
// offending field named (unknown field, bad address, duplicate id, empty backends).

const noTcp = { needsDefault: false };

const GOOD = `
routes:
  - id: app-1
    sni: App.Example.com.
    protocol_hint: tls
    backends: ["10.0.0.5:8443", "10.0.0.6:8443"]
    proxy_v2: true
  - id: wild
    sni: "*.example.com"
    protocol_hint: tls
    backends: ["[::1]:9443"]
  - id: web
    sni: app.example.com
    protocol_hint: http
    backends: ["backend.internal:8080"]
  - id: db
    protocol_hint: tcp
    backends: ["127.0.0.1:5432"]
listeners_default: db
health: { interval_ms: 500, unhealthy_after: 3 }
`;

function rejected(text: string, source = 'r.yaml', ctx = noTcp): RoutesFileError {
  try {
    parseRoutes(text, source, ctx);
  } catch (e) {
    expect(e).toBeInstanceOf(RoutesFileError);
    return e as RoutesFileError;
  }
  throw new Error('the file was accepted');
}

describe('routes file', () => {
  it('reads YAML: routes, names lower-cased, listeners_default, health over the defaults', () => {
    const t = parseRoutes(GOOD, 'r.yaml', { needsDefault: true });
    expect(t.routes.map((r) => [r.id, r.sni, r.protocolHint, r.proxyV2])).toEqual([
      ['app-1', 'app.example.com', 'tls', true],
      ['wild', '*.example.com', 'tls', false],
      ['web', 'app.example.com', 'http', false],
      ['db', undefined, 'tcp', false],
    ]);
    expect(t.routes[1]?.backends).toEqual([{ host: '::1', port: 9443 }]);
    expect(t.listenersDefault?.id).toBe('db');
    expect(t.health).toEqual({ ...DEFAULT_HEALTH, intervalMs: 500, unhealthyAfter: 3 });
    expect(t.proxyV2Routes()).toBe(1);
  });

  it('reads JSON when the name ends in .json', () => {
    const t = parseRoutes(JSON.stringify({ routes: [{ id: 'a', sni: 'a.test', protocol_hint: 'tls', backends: ['127.0.0.1:1'] }] }), 'routes.json', noTcp);
    expect(t.routes).toHaveLength(1);
    expect(rejected('{"routes": [}', 'routes.json').message).toMatch(/^routes file routes\.json rejected: not valid JSON/);
  });

  it('matches exact names first, a wildcard for exactly one more label, per protocol hint', () => {
    const t = parseRoutes(GOOD, 'r.yaml', noTcp);
    expect(t.find('tls', 'APP.example.com')?.id).toBe('app-1');
    expect(t.find('tls', 'other.example.com')?.id).toBe('wild');
    expect(t.find('tls', 'a.b.example.com')).toBeUndefined();
    expect(t.find('tls', 'example.com')).toBeUndefined();
    expect(t.find('http', 'app.example.com')?.id).toBe('web');
    expect(t.find('http', 'other.example.com')).toBeUndefined();
    // A name no DNS name looks like matches nothing, wildcard included.
    expect(t.find('tls', 'bad name.example.com')).toBeUndefined();
    expect(t.find('tls', `${'a'.repeat(300)}.example.com`)).toBeUndefined();
  });

  it('rejects an unknown field, naming it', () => {
    const e = rejected('routes:\n  - { id: a, sni: a.test, protocol_hint: tls, backends: ["127.0.0.1:1"], colour: red }\n');
    expect(e.field).toBe('routes[0]');
    expect(e.message).toBe('routes file r.yaml rejected: routes[0]: unknown field "colour"');
    expect(rejected('routes: []\nextra: 1\n').message).toMatch(/\(top level\): unknown field "extra"/);
  });

  it('rejects a bad backend address', () => {
    const e = rejected('routes:\n  - { id: a, sni: a.test, protocol_hint: tls, backends: ["127.0.0.1:1", "10.0.0.1"] }\n');
    expect(e.field).toBe('routes[0].backends[1]');
    expect(e.message).toMatch(/routes\[0\]\.backends\[1\]: "10\.0\.0\.1": the port is missing/);
    expect(rejected('routes:\n  - { id: a, sni: a.test, protocol_hint: tls, backends: ["h:99999"] }\n').field).toBe('routes[0].backends[0]');
  });

  it('rejects a duplicate route id and a name routed twice', () => {
    const dup = rejected('routes:\n  - { id: a, sni: a.test, protocol_hint: tls, backends: ["127.0.0.1:1"] }\n  - { id: a, sni: b.test, protocol_hint: tls, backends: ["127.0.0.1:2"] }\n');
    expect(dup.message).toMatch(/routes\[1\]\.id: duplicate route id "a"/);
    const twice = rejected('routes:\n  - { id: a, sni: a.test, protocol_hint: tls, backends: ["127.0.0.1:1"] }\n  - { id: b, sni: A.TEST, protocol_hint: tls, backends: ["127.0.0.1:2"] }\n');
    expect(twice.message).toMatch(/routes\[1\]\.sni: "a\.test" \(tls\) is already routed by "a"/);
  });

  it('rejects an empty backend list, a missing sni, a bad hint and a bad listeners_default', () => {
    expect(rejected('routes:\n  - { id: a, sni: a.test, protocol_hint: tls, backends: [] }\n').message).toMatch(/routes\[0\]\.backends: must NOT have fewer than 1 items/);
    expect(rejected('routes:\n  - { id: a, protocol_hint: http, backends: ["127.0.0.1:1"] }\n').message).toMatch(/routes\[0\]: "sni" is required/);
    expect(rejected('routes:\n  - { id: a, sni: a.test, protocol_hint: udp, backends: ["127.0.0.1:1"] }\n').message).toMatch(/routes\[0\]\.protocol_hint: must be one of tls, http, tcp/);
    expect(rejected('routes: []\nlisteners_default: nope\n').message).toMatch(/listeners_default: no route has id "nope"/);
    expect(rejected('routes: []\n', 'r.yaml', { needsDefault: true }).message).toMatch(/listeners_default: is required/);
    expect(rejected('routes:\n  - { id: a, sni: "bad name", protocol_hint: tls, backends: ["127.0.0.1:1"] }\n').field).toBe('routes[0].sni');
    expect(rejected('health: { interval_ms: 1 }\nroutes: []\n').field).toBe('health.interval_ms');
  });

  it('rejects YAML with a duplicate key, and lists at most five problems', () => {
    expect(rejected('routes: []\nroutes: []\n').message).toMatch(/not valid YAML/);
    const many = `routes:\n${Array.from({ length: 8 }, (_, i) => `  - { id: r${i}, sni: s${i}.test, protocol_hint: tls, backends: [] }`).join('\n')}\n`;
    expect(rejected(many).message).toMatch(/; and 3 more$/);
  });
});

describe('balancer', () => {
  it('round robin over the healthy backends of a route; none healthy gives undefined', () => {
    const t = parseRoutes('routes:\n  - { id: a, sni: a.test, protocol_hint: tls, backends: ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"] }\n', 'r.yaml', noTcp);
    const route = t.routes[0]!;
    const b = new Balancer();
    const down = new Set<number>();
    const pick = () => b.pick(route, (x) => !down.has(x.port))?.port;
    expect([pick(), pick(), pick(), pick()]).toEqual([1, 2, 3, 1]);
    down.add(3);
    expect([pick(), pick(), pick()]).toEqual([2, 1, 2]);
    down.add(1).add(2);
    expect(pick()).toBeUndefined();
  });
});
