/**
 * Loopback ports for the programs under test: a free one to hand to a process (or to leave closed,
 * as an endpoint nothing listens on), one free for both TCP and UDP (a DNS listener), or a check that
 * a fixed one (such as `sample`'s 9464, a Prometheus target) is not taken by someone else.
 */
import { createSocket } from 'node:dgram';
import { tryListen } from '../otel-config/stack.ts';

/** A TCP port nothing listens on right now: bound on 127.0.0.1 by the kernel's choice, then closed. */
export async function freePort(): Promise<number> {
  const port = await tryListen(0);
  if (port === null) throw new Error('could not find a free port on 127.0.0.1');
  return port;
}

/**
 * @throws Error naming the port, what it is for and how to find its owner, when 127.0.0.1:`port` is taken.
 */
export async function assertPortFree(port: number, what: string): Promise<void> {
  if ((await tryListen(port)) === null) {
    throw new Error(
      `port 127.0.0.1:${port} (${what}) is already in use by another process; the e2e suite needs it. ` +
        `Find it with \`ss -ltnp 'sport = :${port}'\` (someone else's stack or sample?) and stop it, then rerun.`,
    );
  }
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sock.once('error', () => {
      sock.close();
      resolve(false);
    });
    sock.bind({ address: '127.0.0.1', port, exclusive: true }, () => sock.close(() => resolve(true)));
  });
}

/** A port free on 127.0.0.1 for both TCP and UDP right now (for a DNS listener). Tries at most 20 ports. */
export async function freeTcpUdpPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    if (await udpFree(port)) return port;
  }
  throw new Error('could not find a port free for both TCP and UDP on 127.0.0.1 in 20 tries');
}
