import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../test/ports.ts';
import { pollUntil } from '../../../test/poll.ts';
import { findProgram, startProcess, type TestProcess } from '../../../test/processes.ts';

/**
 * HAProxy (Debian's, installed by `npm run provision`) as the independent PROXY protocol v2 parser the
 * edge's header is checked against: a TCP frontend with `accept-proxy` that logs, per connection, the
 * client address and port, the destination and the PP2_TYPE_AUTHORITY it read from the header, and passes
 * the connection on to a backend with `send-proxy` (a PROXY v1 line, text, carrying the same addresses).
 */

/** A running HAProxy in front of one backend. */
export interface AcceptProxy {
  readonly process: TestProcess;
  /** The `accept-proxy` frontend's port on 127.0.0.1. */
  readonly port: number;
  /**
   * Waits for the log line of a connection from `clientPort` and returns its fields
   * (`src`, `dst` as `address:port`, `authority`).
   */
  logOf(clientPort: number): Promise<{ src: string; dst: string; authority: string }>;
  remove(): void;
}

/** The haproxy binary, or undefined when it is not installed. */
export function haproxyBinary(): string | undefined {
  return findProgram('haproxy');
}

/**
 * Starts HAProxy with an `accept-proxy` frontend passing connections to 127.0.0.1:`backendPort` with `send-proxy`.
 * @throws when haproxy is not installed or does not accept connections within 10 s.
 */
export async function startAcceptProxy(backendPort: number): Promise<AcceptProxy> {
  const bin = haproxyBinary();
  if (!bin) throw new Error('haproxy is not installed (npm run provision installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'trc-edge-haproxy-'));
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    `global
  log stdout format raw local0
defaults
  mode tcp
  log global
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend pp
  bind 127.0.0.1:${port} accept-proxy
  log-format "pp src=%ci:%cp dst=%fi:%fp authority=%[fc_pp_authority]"
  default_backend b
backend b
  server s1 127.0.0.1:${backendPort} send-proxy
`,
  );
  const p = startProcess('haproxy', bin, ['-db', '-f', cfg]);
  await pollUntil(
    'haproxy accepts connections',
    () =>
      new Promise<boolean>((r) => {
        const s = connect(port, '127.0.0.1');
        s.on('connect', () => r(true));
        s.on('error', () => r(false));
        // A probe without a PROXY header: haproxy drops it, and logs nothing for it.
        s.on('connect', () => s.destroy());
      }),
    (ok) => ok,
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  return {
    process: p,
    port,
    async logOf(clientPort) {
      const m = await p.waitForLine(new RegExp(`^pp src=(\\S+):${clientPort} dst=(\\S+) authority=(\\S*)$`), { timeoutMs: 10_000 });
      return { src: `${m[1]}:${clientPort}`, dst: m[2] as string, authority: m[3] as string };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
