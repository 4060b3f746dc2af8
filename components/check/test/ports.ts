import { createServer } from 'node:net';

/** A loopback port nothing listens on right now: bound on 127.0.0.1 by the kernel's choice, then closed. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}
