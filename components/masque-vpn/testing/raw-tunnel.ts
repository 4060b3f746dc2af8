import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session, type ClientHttp2Stream, type Settings } from 'node:http2';
import { CapsuleParser, type Capsule } from '../capsule.ts';

/**
 * A hand-driven CONNECT-IP tunnel for tests that need to send what a well-behaved client would not
 * (spoofed sources, malformed capsules, fuzz): one HTTP/2 session with the given client certificate,
 * one extended CONNECT, the response status and every capsule received.
 */
export interface RawTunnel {
  readonly session: ClientHttp2Session;
  readonly stream: ClientHttp2Stream;
  readonly status: number;
  /** Response body text (for a refusal). */
  body(): Promise<string>;
  /** Capsules received so far. */
  readonly capsules: Capsule[];
  /** Resolves when the stream has closed, with its RST_STREAM code (0 for a clean end). */
  readonly closed: Promise<number>;
  close(): void;
}

/**
 * Opens the tunnel.
 * @param headers added to (or replacing) the CONNECT-IP request headers.
 * @param settings the session's HTTP/2 SETTINGS (`initialWindowSize: 0`: a client that accepts no DATA).
 * @throws Error when the TLS handshake or the session fails before the response (a refused certificate).
 */
export function openRawTunnel(url: string, ca: string, cert: { cert: string; key: string }, headers: Record<string, string> = {}, settings: Settings = {}): Promise<RawTunnel> {
  return new Promise((resolve, reject) => {
    const session = connect(url, { ca: readFileSync(ca), cert: readFileSync(cert.cert), key: readFileSync(cert.key), ALPNProtocols: ['h2'], settings });
    session.on('error', reject);
    session.on('close', () => reject(new Error('session closed before a response (certificate refused?)')));
    session.once('remoteSettings', () => {
      const stream = session.request(
        { ':method': 'CONNECT', ':protocol': 'connect-ip', ':scheme': 'https', ':authority': new URL(url).host, ':path': '/.well-known/masque/ip/*/*/', 'capsule-protocol': '?1', ...headers },
        { endStream: false },
      );
      stream.on('error', () => undefined);
      const closed = new Promise<number>((r) => stream.on('close', () => r(stream.rstCode ?? 0)));
      closed.then(() => reject(new Error('stream closed before a response')), () => undefined);
      stream.once('response', (h) => {
        const capsules: Capsule[] = [];
        const parser = new CapsuleParser();
        let text = '';
        const status = Number(h[':status']);
        const ended = new Promise<void>((r) => stream.on('end', r));
        stream.on('data', (d: Buffer) => {
          if (status === 200) for (const c of parser.push(d)) capsules.push({ type: c.type, value: Buffer.from(c.value) });
          else text += d.toString('utf8');
        });
        resolve({ session, stream, status, capsules, closed, body: () => ended.then(() => text), close: () => session.destroy() });
      });
    });
  });
}
