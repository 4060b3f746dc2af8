import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test PKI made with the `openssl` CLI in a temporary directory: a CA, a server certificate (SAN: the
 * given IPs and `localhost`), client certificates whose CN is the `client_id`, and a second CA with a
 * client of its own (to be refused). EC P-256 keys, valid one day.
 */

/** Paths of the generated files. */
export interface TestPki {
  readonly dir: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Client cert/key by CN, signed by {@link ca}. */
  client(cn: string): { cert: string; key: string };
  /** A client signed by the other CA (CN `intruder`). */
  readonly other: { cert: string; key: string };
  /** Removes the directory. */
  remove(): void;
}

function ossl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

function makeCa(dir: string, name: string): void {
  ossl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`, '-days', '1');
}

function makeLeaf(dir: string, ca: string, name: string, cn: string, san?: string): void {
  const ext = san ? ['-addext', `subjectAltName=${san}`] : [];
  ossl(dir, 'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`, ...ext);
  ossl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-copy_extensions', 'copy');
}

/**
 * Generates the PKI.
 * @param serverIps IP addresses the server certificate is valid for (127.0.0.1 always).
 * @param clients CNs of the clients to sign with the CA.
 * @throws Error with openssl's stderr when a command fails.
 */
export function makeTestPki(serverIps: readonly string[], clients: readonly string[]): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'masque-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  const san = ['DNS:localhost', ...new Set(['127.0.0.1', ...serverIps])].map((s) => (s.startsWith('DNS:') ? s : `IP:${s}`)).join(',');
  makeLeaf(dir, 'ca', 'server', 'masque-server', san);
  for (const cn of clients) makeLeaf(dir, 'ca', `client-${cn}`, cn);
  makeLeaf(dir, 'other-ca', 'intruder', 'intruder');
  const p = (f: string) => join(dir, f);
  return {
    dir,
    ca: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    client: (cn) => ({ cert: p(`client-${cn}.crt`), key: p(`client-${cn}.key`) }),
    other: { cert: p('intruder.crt'), key: p('intruder.key') },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
