import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../test/poll.ts';
import { Admission, type LimitReason } from './admission.ts';

// The two pools on real loopback sockets: the unauthenticated cap evicts the oldest unauthenticated
// connection only, the deadline closes a silent one, and established connections are never closed to
// make room (past their cap a new one is refused).

let server: Server;
let port: number;
const accepted: Socket[] = [];
const clients: Socket[] = [];

beforeAll(async () => {
  server = createServer((s) => {
    s.on('error', () => undefined);
    accepted.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  for (const s of accepted) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

/** Opens `n` connections and returns their server-side sockets, in order. */
async function open(n: number): Promise<Socket[]> {
  const before = accepted.length;
  for (let i = 0; i < n; i++) {
    const c = connect(port, '127.0.0.1');
    c.on('error', () => undefined);
    clients.push(c);
  }
  await pollUntil(`${n} accepted`, async () => accepted.length - before, (k) => k === n, { timeoutMs: 5000, intervalMs: 10 });
  return accepted.slice(before);
}

describe('admission', () => {
  it('past --max-unauthenticated the oldest unauthenticated connection goes, never an established one', async () => {
    const a = new Admission({ maxUnauthenticated: 2, sniffTimeoutMs: 60_000, maxEstablished: 10 });
    const limited: [number, LimitReason][] = [];
    const [s0, s1, s2, s3] = await open(4);
    const h0 = a.admit(s0!, (r) => limited.push([0, r]));
    expect(h0.establish()).toBe(true);
    a.admit(s1!, (r) => limited.push([1, r]));
    a.admit(s2!, (r) => limited.push([2, r]));
    expect(a.unauthenticated()).toBe(2);
    a.admit(s3!, (r) => limited.push([3, r]));
    expect(limited).toEqual([[1, 'evicted']]);
    expect(s1!.destroyed).toBe(true);
    expect(s0!.destroyed).toBe(false);
    expect([a.unauthenticated(), a.establishedCount()]).toEqual([2, 1]);
    a.destroyAll();
  });

  it('closes a connection that is not routed by the deadline, once', async () => {
    const a = new Admission({ maxUnauthenticated: 10, sniffTimeoutMs: 50, maxEstablished: 10 });
    const limited: LimitReason[] = [];
    const [s0, s1] = await open(2);
    a.admit(s0!, (r) => limited.push(r));
    const h1 = a.admit(s1!, (r) => limited.push(r));
    expect(h1.establish()).toBe(true);
    await pollUntil('the silent connection closed', async () => s0!.destroyed, (d) => d, { timeoutMs: 5000, intervalMs: 10 });
    expect(limited).toEqual(['sniff_timeout']);
    expect(s1!.destroyed).toBe(false);
    a.destroyAll();
  });

  it('refuses a new established connection past --max-connections and frees the slot on close', async () => {
    const a = new Admission({ maxUnauthenticated: 10, sniffTimeoutMs: 60_000, maxEstablished: 1 });
    const [s0, s1] = await open(2);
    const h0 = a.admit(s0!, () => undefined);
    const h1 = a.admit(s1!, () => undefined);
    expect(h0.establish()).toBe(true);
    expect(h1.establish()).toBe(false);
    s0!.destroy();
    await pollUntil('the slot is free', async () => a.establishedCount(), (n) => n === 0, { timeoutMs: 5000, intervalMs: 10 });
    expect(h1.establish()).toBe(true);
    a.destroyAll();
  });

  it('a refused connection stays evictable but is not counted again', async () => {
    const a = new Admission({ maxUnauthenticated: 1, sniffTimeoutMs: 60_000, maxEstablished: 10 });
    const limited: LimitReason[] = [];
    const [s0, s1] = await open(2);
    a.admit(s0!, (r) => limited.push(r)).refused();
    a.admit(s1!, (r) => limited.push(r));
    expect(s0!.destroyed).toBe(true);
    expect(limited).toEqual([]);
    a.destroyAll();
  });
});
