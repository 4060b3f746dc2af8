import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, scrapeUntil, total, type SampleLine } from '../../test/exposition.ts';
import { stopAllProcesses } from '../../test/processes.ts';
import { startHttpBackend, type Backend } from './testing/backends.ts';
import { TOKEN, startPeer, type Peer } from './testing/child.ts';
import { httpGet, rawPeer, sendRaw } from './testing/clients.ts';

// One listening peer as a child process, driven by hand over the wire protocol and fed bad input:
// wrong tokens, a peer that never dials back, unknown proxy_ids, malformed control lines, unroutable
// public connections and random bytes. Each is counted and closed; the rest keeps working.

let listener: Peer;
let web: Backend;

beforeAll(async () => {
  web = await startHttpBackend('web');
  listener = await startPeer('listener', ['--control', '127.0.0.1:0', '--http', '127.0.0.1:0', '--https', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--data-timeout-ms', '300', '--max-unauthenticated', '3', '--handshake-timeout-ms', '1000']);
});

afterAll(async () => {
  await stopAllProcesses();
  await web?.close();
});

const register = (names: string[], token = TOKEN) => ({ op: 'register', v: 1, token, names });

describe('ops proxy: bad input is counted and closed, the old state kept', () => {
  it('refuses REGISTER with a wrong token and never routes its names', async () => {
    const p = await rawPeer(listener.port('control'));
    p.send(register(['stolen.test'], 'wrong'));
    expect((await p.next('error')).error).toBe('unauthorized');
    await p.closed;
    expect((await httpGet(listener.port('http'), 'stolen.test')).status).toBe(502);
    const s = (await scrape(listener.metricsUrl)).samples;
    expect(total(s, 'ops_proxy_clients_total')).toBe(0);
    expect(total(s, 'ops_proxy_proxy_errors_total', { client_name: '<unknown>', reason: 'no_client' })).toBe(1);
    expect(listener.lines().some((l) => l.msg === 'REGISTER refused: bad token; these names are not routed')).toBe(true);
    expect(total(s, 'otel_contracts_connections_refused_total', { reason: 'unauthorized' })).toBe(1);
  });

  it('counts a DATA timeout when the connecting peer never dials back', async () => {
    const p = await rawPeer(listener.port('control'));
    p.send(register(['silent.test']));
    await p.next('registered');
    const r = await httpGet(listener.port('http'), 'silent.test');
    expect(r.status).toBe(502);
    expect((await p.next('forward')).name).toBe('silent.test');
    const s = (await scrape(listener.metricsUrl)).samples;
    expect(total(s, 'ops_proxy_proxy_errors_total', { client_name: 'silent.test', reason: 'data_timeout' })).toBe(1);
    expect(total(s, 'ops_proxy_data_connections_timeout_total', { client_name: 'silent.test' })).toBe(1);
    expect(total(s, 'ops_proxy_forward_commands_total', { client_name: 'silent.test' })).toBe(1);
    expect(total(s, 'ops_proxy_pending_data_connections')).toBe(0);
    p.socket.destroy();
  });

  it('a DATA connection with an unknown proxy_id or a bad token is counted and closed', async () => {
    const unknown = await rawPeer(listener.port('control'));
    unknown.send({ op: 'data', v: 1, token: TOKEN, proxy_id: 'nope' });
    await unknown.closed;
    const badToken = await rawPeer(listener.port('control'));
    badToken.send({ op: 'data', v: 1, token: 'wrong', proxy_id: 'nope' });
    expect((await badToken.next('error')).error).toBe('unauthorized');
    await badToken.closed;
    const s = (await scrape(listener.metricsUrl)).samples;
    expect(total(s, 'ops_proxy_data_connections_unexpected_total')).toBe(2);
  });

  it('a backend the connecting peer cannot reach counts data_io_error', async () => {
    const p = await rawPeer(listener.port('control'));
    p.send(register(['broken.test']));
    await p.next('registered');
    const answer = httpGet(listener.port('http'), 'broken.test');
    const fwd = await p.next('forward');
    const data = await rawPeer(listener.port('control'));
    data.send({ op: 'data', v: 1, token: TOKEN, proxy_id: fwd.proxy_id, error: 'backend unreachable' });
    expect((await answer).status).toBe(502);
    const s = await scrapeUntil(listener.metricsUrl, 'data_io_error', (x) => total(x, 'ops_proxy_proxy_errors_total', { client_name: 'broken.test', reason: 'data_io_error' }) === 1);
    expect(total(s, 'ops_proxy_data_connections_matched_total', { client_name: 'broken.test' })).toBe(1);
    expect(total(s, 'ops_proxy_connections_failed_total', { client_name: 'broken.test' })).toBe(1);
    p.socket.destroy();
  });

  it('a malformed control message closes only that control connection', async () => {
    const good = await rawPeer(listener.port('control'));
    good.send(register(['kept.test']));
    await good.next('registered');
    for (const bad of ['{"op":"register","v":1', '{"op":"register","v":2,"names":["a"]}', '{"op":"register","v":1,"names":["bad name"]}', '[]', '{"op":"fly","v":1}']) {
      const p = await rawPeer(listener.port('control'));
      p.socket.write(`${bad}\n`);
      expect(String((await p.next('error')).error)).toMatch(/^malformed: /);
      await p.closed;
    }
    // A registered connection that later sends garbage loses only itself.
    const other = await rawPeer(listener.port('control'));
    other.send(register(['other.test']));
    await other.next('registered');
    other.socket.write('garbage\n');
    await other.closed;
    const s = await scrapeUntil(listener.metricsUrl, 'other.test down', (x) => total(x, 'ops_proxy_client_up', { client_name: 'other.test' }) === 0);
    expect(total(s, 'ops_proxy_client_up', { client_name: 'kept.test' })).toBe(1);
    expect(total(s, 'otel_contracts_connections_refused_total', { reason: 'malformed' })).toBe(6); // the five lines above and the garbage
    good.socket.destroy();
  });

  it('unknown Host, unknown SNI, a ClientHello without SNI and non-TLS bytes on https get a clean close and are counted', async () => {
    const before = total((await scrape(listener.metricsUrl)).samples, 'ops_proxy_requests_failed_total', { client_name: '<unknown>' });
    const r = await httpGet(listener.port('http'), 'nobody.test');
    expect(r.status).toBe(502);
    expect(r.body).toBe('ops-proxy: no route for this host\n');
    // Not HTTP on the http port: a 502 too.
    expect((await sendRaw(listener.port('http'), Buffer.from('\x00\x01garbage\r\n\r\n'))).toString('latin1')).toMatch(/^HTTP\/1\.1 502 /);
    // https: a TLS client with an unknown SNI, one without SNI (an IP address), and plain text.
    const { connect: tlsConnect } = await import('node:tls');
    for (const servername of ['unknown.test', '']) {
      await new Promise<void>((resolve) => {
        const s = tlsConnect({ port: listener.port('https'), host: '127.0.0.1', servername, rejectUnauthorized: false });
        s.on('error', () => resolve());
        s.on('close', () => resolve());
      });
    }
    expect((await sendRaw(listener.port('https'), Buffer.from('GET / HTTP/1.1\r\n\r\n'))).length).toBe(0);
    const s = await scrapeUntil(listener.metricsUrl, 'five failed', (x) => total(x, 'ops_proxy_requests_failed_total', { client_name: '<unknown>' }) === before + 5);
    expect(total(s, 'ops_proxy_requests_failed_total', { client_name: '<unknown>', protocol: 'https' })).toBe(3);
  });

  it('past --max-unauthenticated the oldest unauthenticated connection is closed, even a sending one; a registered peer never is', async () => {
    const peer = await rawPeer(listener.port('control'));
    peer.send(register(['capped.test']));
    await peer.next('registered');
    const refused = (x: SampleLine[]) => total(x, 'otel_contracts_connections_refused_total', { reason: 'unauthenticated_evicted' });
    const before = refused((await scrape(listener.metricsUrl)).samples);
    const open = async () => {
      const s = connect(listener.port('http'), '127.0.0.1');
      s.on('error', () => undefined);
      s.resume(); // read the 502 an evicted connection gets, so that its close is seen
      await new Promise((r) => s.once('connect', r));
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      return { s, closed };
    };
    const first = await open();
    const second = await open();
    const third = await open();
    first.s.write('GET / HT'); // sending slowly does not protect it: the oldest goes first
    const fourth = await open();
    await first.closed; // evicted
    const s = await scrapeUntil(listener.metricsUrl, 'one eviction counted', (x) => refused(x) === before + 1);
    expect(second.s.destroyed).toBe(false);
    expect(peer.socket.destroyed).toBe(false);
    expect(total(s, 'ops_proxy_client_up', { client_name: 'capped.test' })).toBe(1);
    for (const c of [second, third, fourth]) c.s.destroy();
    peer.socket.destroy();
  });

  it('random bytes on the control, http and https ports never crash it; routing still works after', async () => {
    for (let i = 0; i < 30; i++) {
      const bytes = randomBytes(1 + (i * 37) % 3000);
      await Promise.all([sendRaw(listener.port('control'), bytes, true), sendRaw(listener.port('http'), bytes, true), sendRaw(listener.port('https'), bytes, true)]);
    }
    // Random bytes after a valid TLS record header.
    await sendRaw(listener.port('https'), Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40, 0x01]), randomBytes(0x3f)]));
    expect(listener.process.exitInfo()).toBeNull();
    const p = await rawPeer(listener.port('control'));
    p.send(register(['after.test']));
    await p.next('registered');
    const answer = httpGet(listener.port('http'), 'after.test', '/ok');
    const fwd = await p.next('forward');
    // The DATA line and a payload longer than a protocol line, with newlines, in one write: the payload
    // must reach the client untouched.
    const body = 'line\n'.repeat(4000);
    const data = connect(listener.port('control'), '127.0.0.1');
    data.on('data', () => undefined);
    data.end(`${JSON.stringify({ op: 'data', v: 1, token: TOKEN, proxy_id: fwd.proxy_id })}\nHTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    expect(await answer).toEqual({ status: 200, body });
    p.socket.destroy();
    expect(await listener.stop()).toBe(0);
  });
});
