import type { Socket } from 'node:net';
import { hostCandidates, MAX_HEAD_BYTES, readHttpHead } from '../kit/http-host.ts';
import { MAX_CLIENT_HELLO_BYTES, readClientHello } from '../kit/client-hello.ts';

/**
 * Reads a new connection's first bytes until the edge knows where it goes (seed 002, section F, "SNI and
 * TLS sniffing"): on a TLS listener the ClientHello (bounded to {@link MAX_CLIENT_HELLO_BYTES}, however it
 * is split into records and segments; parsed by the ops proxy's reader), on an HTTP listener the request
 * head (bounded to 16 KiB, the `Host` header). Nothing is consumed: the bytes read are handed on, to be
 * forwarded first. The time bound is the admission deadline (kit/admission.ts), which destroys the socket.
 */

/** The result of a TLS listener's sniff: the `result` of `trc_edge_sni_sniffs_total`, with the name when `ok`. */
export type TlsSniff =
  | { readonly result: 'ok'; readonly name: string }
  | { readonly result: 'no_sni' }
  /** Not a TLS ClientHello: another first byte, a malformed or oversized one, or the client ended before it was complete. */
  | { readonly result: 'not_tls'; readonly why: string };

/** The result of an HTTP listener's sniff: the Host (without port) or why there is none. */
export type HttpSniff = { readonly result: 'host'; readonly name: string } | { readonly result: 'no_host' | 'malformed'; readonly why: string };

/**
 * Collects `socket`'s bytes until `decide` returns a result, or the client ends or closes first (then
 * `onEarlyEnd`'s result). The socket is paused when `done` is called with the bytes read so far.
 * `done` is never called when the socket is destroyed from outside (the deadline) before that.
 */
function readUntil<R>(socket: Socket, decide: (buf: Buffer) => R | undefined, onEarlyEnd: (buf: Buffer) => R, done: (r: R, head: Buffer) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  let finished = false;
  const finish = (r: R) => {
    finished = true;
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.pause();
    done(r, buf);
  };
  const onData = (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const r = decide(buf);
    if (r !== undefined) finish(r);
  };
  const onEnd = () => {
    if (!finished) finish(onEarlyEnd(buf));
  };
  socket.on('data', onData);
  socket.once('end', onEnd);
}

/** Sniffs a TLS listener's connection: `done` gets the sniff result and the ClientHello bytes. */
export function sniffClientHello(socket: Socket, done: (r: TlsSniff, head: Buffer) => void): void {
  readUntil<TlsSniff>(
    socket,
    (buf) => {
      const r = readClientHello(buf);
      if (r.kind === 'sni') return { result: 'ok', name: r.name };
      if (r.kind === 'no_sni') return { result: 'no_sni' };
      if (r.kind === 'not_tls') return { result: 'not_tls', why: r.why };
      return buf.length > MAX_CLIENT_HELLO_BYTES ? { result: 'not_tls', why: `no complete ClientHello in ${MAX_CLIENT_HELLO_BYTES} bytes` } : undefined;
    },
    (buf) => ({ result: 'not_tls', why: buf.length === 0 ? 'closed before sending anything' : 'closed before the ClientHello was complete' }),
    done,
  );
}

/** Sniffs an HTTP listener's connection: `done` gets the Host (port removed) and the request head bytes. */
export function sniffHttpHost(socket: Socket, done: (r: HttpSniff, head: Buffer) => void): void {
  readUntil<HttpSniff>(
    socket,
    (buf) => {
      const r = readHttpHead(buf);
      if (r.kind === 'host') return { result: 'host', name: hostCandidates(r.host).at(-1) as string };
      if (r.kind === 'no_host') return { result: 'no_host', why: 'no Host header' };
      if (r.kind === 'malformed') return { result: 'malformed', why: r.why };
      return undefined;
    },
    (buf) => ({ result: 'malformed', why: buf.length === 0 ? 'closed before sending anything' : `closed before the request head was complete (${Math.min(buf.length, MAX_HEAD_BYTES)} bytes)` }),
    done,
  );
}
