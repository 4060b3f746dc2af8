import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { splice } from '../kit/splice.ts';
import { loopback } from '../kit/testing/loopback.ts';
import { ACCEPTED_DIRECT_SUPPORTED, readAcceptedDirect } from './accepted-reader.ts';

// Real sockets on loopback: an accepted socket switched to reused read buffers after some of its bytes were
// read the ordinary way (as the listening peer reads a request head or a DATA line) must forward every byte,
// in order, once, to a destination that reads slowly, and pass its FIN on.

const { listen, dial, slowSink, close } = loopback();
afterAll(close);

describe('readAcceptedDirect', () => {
  it('is supported on this Node (else the listening peer reads its tunnels through fresh buffers)', () => {
    expect(ACCEPTED_DIRECT_SUPPORTED).toBe(true);
  });

  it('forwards every byte of an accepted socket once and in order, the ones read before the switch first, then its FIN', async () => {
    const payload = randomBytes(16 * 1024 * 1024);
    const sink = await slowSink();
    let switched!: (v: { head: Buffer; socket: Socket }) => void;
    const accepted = new Promise<{ head: Buffer; socket: Socket }>((r) => (switched = r));
    const source = await listen((s) => {
      // The first chunk read the ordinary way, then paused: what follows queues in the stream's buffer.
      s.once('data', (head: Buffer) => {
        s.pause();
        setTimeout(() => switched({ head, socket: s }), 50);
      });
    });
    const client = connect({ port: source, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => undefined);
    const clientClosed = new Promise<void>((r) => client.once('close', () => r()));
    client.resume();
    client.end(payload);

    const { head, socket } = await accepted;
    const direct = readAcceptedDirect(socket);
    expect(direct).toBeDefined();
    // The stream had read past the first chunk before the switch.
    expect(direct?.buffered.length).toBeGreaterThan(0);
    const to = await dial(sink.port);
    let counted = head.length;
    to.write(head);
    for (const chunk of direct?.buffered ?? []) {
      counted += chunk.length;
      to.write(chunk);
    }
    const done = new Promise<Error | undefined>((r) => splice(socket, to, { readers: { a: direct?.reader }, aToB: (n) => (counted += n), done: r }));
    const timer = setTimeout(() => socket.destroy(new Error('not done in 15 s')), 15_000);
    const got = await sink.received;
    expect(got.length).toBe(payload.length);
    expect(got.equals(payload)).toBe(true);
    expect(counted).toBe(payload.length);
    expect(await done).toBeUndefined();
    clearTimeout(timer);
    await clientClosed;
  }, 20_000);

  it('leaves a socket that is not paused, or has ended, untouched', async () => {
    let got!: (s: Socket) => void;
    const accepted = new Promise<Socket>((r) => (got = r));
    const port = await listen((s) => got(s));
    const client = await dial(port);
    const s = await accepted;
    s.resume();
    expect(readAcceptedDirect(s)).toBeUndefined();
    const ended = new Promise<void>((r) => s.once('end', () => r()));
    client.end();
    await ended;
    s.pause();
    expect(readAcceptedDirect(s)).toBeUndefined();
  });
});
