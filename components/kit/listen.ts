import type { AddressInfo, Server } from 'node:net';
import type { HostPort } from './host-port.ts';

/**
 * Starts `server` (a `net` or `http` server) listening on `at`.
 * @returns where it listens: the kernel's port when `at.port` is 0, the host without brackets.
 * @throws the listen error (EADDRINUSE, EACCES, EADDRNOTAVAIL); the server is left closed.
 */
export function listen(server: Server, at: HostPort): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host.replace(/^\[|\]$/g, ''), () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve({ host: a.address, port: a.port });
    });
  });
}

