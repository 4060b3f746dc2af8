import { connect, type Socket } from 'node:net';

/**
 * Many connections from this process to one port, for the limit tests: each connects, optionally sends
 * its first bytes, then stays open and silent until the server closes it (or {@link Flood.destroy}).
 * Connections are opened {@link CONCURRENCY} at a time, so this process and the server never hold more
 * half-made connections than that.
 */

/** Connections being opened at once. */
const CONCURRENCY = 100;

/** A flood of idle connections. */
export interface Flood {
  /** Connections that connected. */
  readonly opened: number;
  /** Connections the server has closed so far. */
  closed(): number;
  /** Destroys every connection still open. */
  destroy(): void;
}

/**
 * Opens `count` connections to 127.0.0.1:`port`, each sending `firstBytes` (if given) once connected.
 * Resolves once every connection connected or failed (a failed one counts neither opened nor closed).
 */
export async function flood(port: number, count: number, firstBytes?: string): Promise<Flood> {
  const sockets: Socket[] = [];
  let opened = 0;
  let closed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' });
      sockets.push(s);
      let connected = false;
      s.on('error', () => undefined);
      s.resume(); // read whatever the server answers, so that its close is seen
      s.once('connect', () => {
        connected = true;
        opened++;
        if (firstBytes !== undefined) s.write(firstBytes);
        resolve();
      });
      s.once('close', () => {
        if (connected) closed++;
        resolve();
      });
    });
  for (let i = 0; i < count; i += CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count - i) }, one));
  }
  return {
    opened,
    closed: () => closed,
    destroy: () => {
      for (const s of sockets) s.destroy();
    },
  };
}
