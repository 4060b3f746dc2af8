import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../test/poll.ts';
import { MAX_TCP_CONNECTIONS } from './dns-server.ts';
import { tcpFrame } from './dns-wire.ts';
import { startAuthoritative, type Authoritative } from './testing/authoritative.ts';
import { addresses, query, rcodeName, tcpQueries } from './testing/dns-client.ts';
import { startSidecar, type TestSidecar } from './testing/harness.ts';
import dnsPacket from 'dns-packet';

// DNS over TCP under a flood of idle connections, against the real sidecar on
// loopback: a full connection table evicts its least recently active idle connection for a new one,
// so a real query is answered while 3000 idle connections are held, and a connection with a query in
// flight is never the one evicted.

/** Idle connections the flood holds open. */
const FLOOD = 3000;
/** Connections opened at once, so the listen backlog (511) never overflows into SYN retries. */
const WAVE = 250;
/** Longest wait for one wave to connect. */
const WAVE_TIMEOUT_MS = 15_000;
/** The upstream timeout of the sidecar: how long a query to the silent name stays in flight. */
const UPSTREAM_TIMEOUT_MS = 6000;

/** File descriptors this file needs: the flood, the server's table, and room for the rest of the process. */
const FDS_NEEDED = FLOOD + MAX_TCP_CONNECTIONS + 500;

/** The soft `Max open files` limit of this process, from /proc/self/limits. */
function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === 'unlimited' ? Infinity : Number(soft);
}

/** Client sockets of a flood, and how many of them the server has closed. */
interface Flood {
  readonly sockets: Socket[];
  closed(): number;
}

/**
 * Opens `n` TCP connections that never send anything, `WAVE` at a time, each wave awaited (bounded by
 * `WAVE_TIMEOUT_MS`). Closes by the server are counted; errors (a reset on eviction) are expected.
 * @throws when a wave does not connect in time, naming how far the flood got.
 */
async function openIdle(port: number, n: number): Promise<Flood> {
  const sockets: Socket[] = [];
  let closed = 0;
  for (let opened = 0; opened < n; opened += WAVE) {
    const wave = Array.from({ length: Math.min(WAVE, n - opened) }, () => {
      const s = connect({ host: '127.0.0.1', port });
      sockets.push(s);
      s.on('error', () => {});
      s.on('close', () => closed++);
      return new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('close', () => resolve()); // connected and already evicted, or refused: the table is doing its job
        s.once('error', (e) => (s.connecting ? reject(e) : resolve()));
      });
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(wave),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`flood: wave at ${opened} of ${n} connections did not connect within ${WAVE_TIMEOUT_MS} ms`)), WAVE_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
  }
  return { sockets, closed: () => closed };
}

/**
 * Sends one query on a new connection and resolves with the answer, or with `undefined` when the
 * server closes the connection first. `sent` resolves once the query is written.
 */
function queryOnOwnConnection(port: number, message: Buffer, timeoutMs: number): { sent: Promise<void>; answer: Promise<dnsPacket.DecodedPacket | undefined> } {
  const socket = connect({ host: '127.0.0.1', port });
  let buf: Buffer = Buffer.alloc(0);
  const sent = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => socket.write(tcpFrame(message), () => resolve()));
    socket.once('error', reject);
  });
  const answer = new Promise<dnsPacket.DecodedPacket | undefined>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TCP answer and no close within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  return { sent, answer };
}

let up: Authoritative;
let t: TestSidecar;
let flood: Flood | undefined;

beforeAll(async () => {
  const limit = openFilesLimit();
  if (limit < FDS_NEEDED) {
    throw new Error(`this test holds ${FLOOD} client sockets beside the server's ${MAX_TCP_CONNECTIONS}: the open-files limit is ${limit}; raise it with \`ulimit -n ${FDS_NEEDED}\` in the shell that runs vitest`);
  }
  up = await startAuthoritative();
  t = await startSidecar([`127.0.0.1:${up.port}`], {}, ['--upstream-timeout-ms', String(UPSTREAM_TIMEOUT_MS)]);
});

afterEach(() => {
  for (const s of flood?.sockets ?? []) s.destroy();
  flood = undefined;
});

afterAll(async () => {
  await t?.sidecar.close();
  await up?.close();
});

describe('egress sidecar: DNS over TCP under a flood of idle connections', () => {
  it(`answers a valid query while ${FLOOD} idle connections are held, evicting the oldest idle ones`, async () => {
    flood = await openIdle(t.dnsPort, FLOOD);
    const [answer] = await tcpQueries(t.dnsPort, [query('www.example.test', 0x5151)], 5000);
    expect(answer?.id).toBe(0x5151);
    expect(rcodeName(answer!)).toBe('NOERROR');
    expect(addresses(answer!)).toEqual(['192.0.2.1']);

    // The table stays bounded: every flood connection past the table's size was closed by the server.
    const f = flood;
    const closed = await pollUntil(`the server closes all but ${MAX_TCP_CONNECTIONS} of ${FLOOD} idle connections`, async () => f.closed(), (n) => n >= FLOOD - MAX_TCP_CONNECTIONS, {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    expect(FLOOD - closed).toBeLessThanOrEqual(MAX_TCP_CONNECTIONS);

    // The full table is reported, once per window, not once per eviction.
    const full = t.logs.filter((l) => l.msg.startsWith('DNS TCP connection table full'));
    expect(full).toHaveLength(1);
    expect(full[0]).toMatchObject({ level: 40, max: MAX_TCP_CONNECTIONS });

    // And the port keeps serving after the flood: the same query again, on a fresh connection.
    const [again] = await tcpQueries(t.dnsPort, [query('www.example.test', 0x5152)], 5000);
    expect(addresses(again!)).toEqual(['192.0.2.1']);
  });

  it('never evicts a connection with a query in flight: it gets its answer after the flood', async () => {
    // The oldest connection in the table, busy: the upstream never answers, so the query stays in flight until the upstream timeout.
    const busy = queryOnOwnConnection(t.dnsPort, query('silent.example.test', 0x6161), UPSTREAM_TIMEOUT_MS + 5000);
    await busy.sent;
    flood = await openIdle(t.dnsPort, MAX_TCP_CONNECTIONS + 300);
    const f = flood;
    await pollUntil('the flood evicts idle connections', async () => f.closed(), (n) => n >= 300, { timeoutMs: 10_000, intervalMs: 50 });
    const answer = await busy.answer;
    expect(answer, 'the busy connection was closed before its answer').toBeDefined();
    expect(answer?.id).toBe(0x6161);
    expect(rcodeName(answer!)).toBe('SERVFAIL');
  });
});
