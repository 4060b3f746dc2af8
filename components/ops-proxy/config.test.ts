import { describe, expect, it } from 'vitest';
import { runNode } from '../../test/processes.ts';
import { DEFAULT_METRICS, OpsProxyConfigError, readOpsProxyConfig } from './config.ts';
import { MAIN } from './testing/child.ts';

const env = { OPS_PROXY_TOKEN: 't' };

describe('ops proxy: command line', () => {
  it('reads both roles from one command line', () => {
    const c = readOpsProxyConfig(['--control', '127.0.0.1:7000', '--http', '0.0.0.0:8080', '--tcp', 'db=127.0.0.1:5432', '--connect', 'edge.example:7000', '--register', 'App.Test=localhost:3000'], env);
    expect(c.listen?.control).toEqual({ host: '127.0.0.1', port: 7000 });
    expect(c.listen?.tcp).toEqual([{ name: 'db', listen: { host: '127.0.0.1', port: 5432 } }]);
    expect(c.connect?.targets).toEqual([{ host: 'edge.example', port: 7000 }]);
    expect(c.connect?.registrations).toEqual([{ name: 'app.test', backend: { host: 'localhost', port: 3000 } }]);
    expect(`${c.metrics.host}:${c.metrics.port}`).toBe(DEFAULT_METRICS);
  });

  it('reads the limits, with their defaults, and the old name of --handshake-timeout-ms', () => {
    const base = ['--control', '127.0.0.1:7000', '--http', '127.0.0.1:8080'];
    const d = readOpsProxyConfig(base, env).listen;
    expect(d).toMatchObject({ maxUnauthenticated: 512, handshakeTimeoutMs: 5000, maxConnections: 4096, halfCloseTimeoutMs: 10_000, idleTimeoutMs: 300_000, allowTakeover: false });
    const set = readOpsProxyConfig([...base, '--max-unauthenticated', '64', '--handshake-timeout-ms', '750', '--max-connections', '9', '--half-close-timeout-ms', '250', '--allow-takeover'], env).listen;
    expect(set).toMatchObject({ maxUnauthenticated: 64, handshakeTimeoutMs: 750, maxConnections: 9, halfCloseTimeoutMs: 250, allowTakeover: true });
    expect(readOpsProxyConfig([...base, '--header-timeout-ms', '1234'], env).listen?.handshakeTimeoutMs).toBe(1234);
    expect(readOpsProxyConfig([...base, '--header-timeout-ms', '1234', '--handshake-timeout-ms', '99'], env).listen?.handshakeTimeoutMs).toBe(99);
    // The tunnel bounds apply to the connecting role too.
    const c = readOpsProxyConfig(['--connect', '127.0.0.1:7000', '--register', 'a=127.0.0.1:1', '--half-close-timeout-ms', '300'], env).connect;
    expect(c).toMatchObject({ halfCloseTimeoutMs: 300, idleTimeoutMs: 300_000 });
    expect(() => readOpsProxyConfig([...base, '--max-unauthenticated', '0'], env)).toThrow(/--max-unauthenticated "0"/);
  });

  it('names the flag or variable in every error', () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [[], env, /no role given/],
      [['--http', '127.0.0.1:80'], env, /need --control/],
      [['--control', '127.0.0.1:7000'], env, /at least one public listener/],
      [['--connect', '127.0.0.1:7000'], env, /--connect needs at least one --register/],
      [['--register', 'a=127.0.0.1:1'], env, /--register needs --connect/],
      [['--control', 'nowhere', '--http', '127.0.0.1:1'], env, /--control "nowhere": .*expected HOST:PORT/],
      [['--control', 'example.com:1', '--http', '127.0.0.1:1'], env, /must be an IP address or localhost/],
      [['--connect', '127.0.0.1:1', '--register', 'a b=127.0.0.1:1'], env, /not a routing name/],
      [['--connect', '127.0.0.1:1', '--register', 'a=127.0.0.1:1', '--register', 'A=127.0.0.1:2'], env, /given twice/],
      [['--control', '127.0.0.1:1', '--http', '127.0.0.1:2', '--data-timeout-ms', 'x'], env, /--data-timeout-ms "x"/],
      [['--control', '127.0.0.1:1', '--http', '127.0.0.1:2'], {}, /OPS_PROXY_TOKEN is not set/],
    ];
    for (const [argv, e, re] of cases) expect(() => readOpsProxyConfig(argv, e), argv.join(' ')).toThrow(re);
    expect(() => readOpsProxyConfig([], env)).toThrow(OpsProxyConfigError);
  });

  it('exits 1 with one plain line when it cannot start', async () => {
    const r = await runNode('ops-proxy without token', [MAIN, '--control', '127.0.0.1:0', '--http', '127.0.0.1:0'], { PATH: process.env.PATH }, 15_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ops proxy did not start: OPS_PROXY_TOKEN is not set');
  });
});
