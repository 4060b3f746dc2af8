import type { Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { splice } from './splice.ts';
import { loopback } from './testing/loopback.ts';

// splice with real sockets on loopback: a socket that already emitted 'end' before the splice (a paused
// socket with nothing buffered still reads its FIN and emits 'end' at once) must have its FIN passed on.

const { listen, dial, close } = loopback();
afterAll(close);

/** Everything `s` receives until its 'end', or what came by `ms` with `ended: false`. */
function readToEnd(s: Socket, ms: number): Promise<{ text: string; ended: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => resolve({ text: Buffer.concat(chunks).toString(), ended: false }), ms);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString(), ended: true });
    });
  });
}

describe('splice', () => {
  it.each([
    ['without a byte', ''],
    ['after its bytes were read (a request head read before routing)', 'head'],
  ])('passes on the FIN of a socket that ended before the splice: %s', async (_what, payload) => {
    // The echo backend answers the FIN with its own once it has echoed everything.
    const echo = await listen((s) => s.pipe(s));
    let accepted!: (s: Socket) => void;
    const front = new Promise<Socket>((r) => (accepted = r));
    const proxy = await listen((s) => {
      // Read what came (as a router reads a head), then wait paused, as a tunnel waits for its other side.
      s.once('data', () => s.pause());
      accepted(s);
    });
    const client = await dial(proxy);
    const received = readToEnd(client, 3000);
    client.end(payload);
    const a = await front;
    await new Promise<void>((r) => (a.readableEnded ? r() : a.once('end', () => r())));
    expect(a.readableEnded).toBe(true);

    const b = await dial(echo);
    // What the proxy read before the splice goes first, as the ops proxy and the trc edge do.
    if (payload) b.write(payload);
    const done = new Promise<Error | undefined>((r) => splice(a, b, { halfCloseTimeoutMs: 60_000, idleTimeoutMs: 60_000, done: r }));
    expect(await received).toEqual({ text: payload, ended: true });
    expect(await done).toBeUndefined();
  });

  it('still passes on a FIN that comes after the splice, both ways, with the bytes before it', async () => {
    const echo = await listen((s) => s.pipe(s));
    let accepted!: (s: Socket) => void;
    const front = new Promise<Socket>((r) => (accepted = r));
    const proxy = await listen((s) => accepted(s.pause()));
    const client = await dial(proxy);
    const a = await front;
    const b = await dial(echo);
    const done = new Promise<Error | undefined>((r) => splice(a, b, { done: r }));
    const received = readToEnd(client, 3000);
    client.write('one ');
    client.end('two');
    expect(await received).toEqual({ text: 'one two', ended: true });
    expect(await done).toBeUndefined();
  });
});
