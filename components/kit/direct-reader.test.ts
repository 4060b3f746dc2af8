import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { DirectReader, connectDirect } from './direct-reader.ts';
import { splice } from './splice.ts';
import { loopback } from './testing/loopback.ts';

// A dialled socket read through a DirectReader into a slow destination: the reused buffers must never
// overwrite bytes still queued for writing, and the count must be exact.

const { listen, slowSink, close } = loopback();
afterAll(close);

describe('connectDirect', () => {
  it('forwards every byte in order to a destination that reads slowly, counting them exactly', async () => {
    const payload = randomBytes(8 * 1024 * 1024);
    const source = await listen((s) => s.end(payload));
    const sink = await slowSink();
    const from = connectDirect({ port: source, host: '127.0.0.1', allowHalfOpen: true });
    const to = connect({ port: sink.port, host: '127.0.0.1', allowHalfOpen: true });
    await Promise.all([from, to].map((s) => new Promise((r) => s.once('connect', r))));
    let counted = 0;
    const done = new Promise<Error | undefined>((resolve) => splice(from, to, { aToB: (n) => (counted += n), done: resolve }));
    const timer = setTimeout(() => from.destroy(new Error('not done in 10 s')), 10_000);
    expect(await done).toBeUndefined();
    clearTimeout(timer);
    const got = await sink.received;
    expect(got.length).toBe(payload.length);
    expect(got.equals(payload)).toBe(true);
    expect(counted).toBe(payload.length);
  });

  it('never hands out for reading a buffer that a pending write still holds', async () => {
    const sink = await listen((s) => s.resume());
    const reader = new DirectReader();
    const { buffer, callback } = reader.onread as { buffer: () => Buffer; callback: (n: number, buf: Buffer) => boolean };
    const to = connect({ port: sink, host: '127.0.0.1' });
    reader.forwardTo(to);
    // Still connecting: the write is queued, so its buffer is lent to it.
    const first = buffer();
    expect(callback(100, first)).toBe(true);
    expect(to.writableLength).toBe(100);
    const second = buffer();
    expect(second).not.toBe(first);
    await new Promise((r) => to.once('connect', r));
    await new Promise((r) => setImmediate(r));
    // Connected and idle: a small write completes at once, and the buffer is read into again.
    expect(callback(100, second)).toBe(true);
    expect(to.writableLength).toBe(0);
    expect(buffer()).toBe(second);
    to.destroy();
  });
});
