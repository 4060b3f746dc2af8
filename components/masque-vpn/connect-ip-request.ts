import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';

/**
 * The CONNECT-IP request (RFC 9484 §3) as HTTP/2 extended CONNECT (RFC 8441): what the client sends and
 * what the server accepts. One URI template: the default `/.well-known/masque/ip/{target}/{ipproto}/`
 * with target and ipproto `*` (any host, any protocol); `*` may arrive percent-encoded as `%2A`.
 */

/** The request path the client sends: the default URI template with target and ipproto `*`. */
export const CONNECT_IP_PATH = '/.well-known/masque/ip/*/*/';

const PATH_RE = /^\/\.well-known\/masque\/ip\/(?:\*|%2[aA])\/(?:\*|%2[aA])\/$/;

/** The answer to a request that is not a CONNECT-IP the server serves: HTTP status and a one-line text body. */
export interface RequestRefusal {
  readonly status: 404 | 501 | 400;
  readonly why: string;
  /** Whether it was meant as CONNECT-IP (an extended CONNECT): such a refusal counts as a failed MASQUE request. */
  readonly masque: boolean;
}

/**
 * The request headers of a CONNECT-IP tunnel to `authority` (`host:port` of the server): `:method CONNECT`,
 * `:protocol connect-ip`, `:scheme https`, the default path and `capsule-protocol: ?1`.
 */
export function connectIpRequestHeaders(authority: string): OutgoingHttpHeaders {
  return { ':method': 'CONNECT', ':protocol': 'connect-ip', ':scheme': 'https', ':authority': authority, ':path': CONNECT_IP_PATH, 'capsule-protocol': '?1' };
}

/**
 * Checks a request's headers.
 * @returns undefined for a CONNECT-IP request this server serves; otherwise the refusal: 404 for a request
 *   that is not CONNECT (`masque: false`) or for another path, 501 for another `:protocol`, 400 without
 *   `capsule-protocol: ?1`.
 */
export function checkConnectIpRequest(headers: IncomingHttpHeaders): RequestRefusal | undefined {
  if (headers[':method'] !== 'CONNECT') {
    return { status: 404, why: 'masque-vpn serves CONNECT-IP (RFC 9484): extended CONNECT, :protocol connect-ip, /.well-known/masque/ip/*/*/', masque: false };
  }
  if (headers[':protocol'] !== 'connect-ip') return { status: 501, why: `:protocol ${JSON.stringify(headers[':protocol'] ?? null)} not supported: connect-ip only`, masque: true };
  if (!PATH_RE.test(String(headers[':path'] ?? ''))) return { status: 404, why: `:path ${JSON.stringify(headers[':path'])}: this proxy serves /.well-known/masque/ip/*/*/ (any target, any protocol)`, masque: true };
  if (String(headers['capsule-protocol'] ?? '').trim() !== '?1') return { status: 400, why: 'capsule-protocol: ?1 is required (RFC 9484 §3)', masque: true };
  return undefined;
}

/**
 * Answers a request the server does not serve (a refusal, or 503 when the pool is exhausted) with `status`
 * and `text` as the body, then resets the stream with NO_ERROR once the body is written: the client may
 * still hold its side open (a CONNECT stream never ends by itself), and RFC 9113 §8.1 lets a server that
 * has sent a complete response end the request this way, so a refused stream never lingers.
 */
export function answerAndClose(stream: ServerHttp2Stream, status: number, text: string): void {
  stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8' });
  stream.end(`${text}\n`, () => stream.close(constants.NGHTTP2_NO_ERROR));
}
