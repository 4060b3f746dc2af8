import { constants, type Http2Stream } from 'node:http2';
import { CapsuleError, CapsuleParser, type Capsule } from './capsule.ts';

/**
 * A capsule stream on one HTTP/2 stream (RFC 9297 §3.3), for both endpoints: capsules are parsed as
 * DATA arrives, and anything malformed (a varint that cannot be read, a declared length above the
 * limit, a value its handler cannot decode, or END_STREAM inside a capsule) resets that stream, and
 * that stream only, with RST_STREAM(PROTOCOL_ERROR). Other streams of the session carry on.
 *
 * Our side never sends END_STREAM: the stream must be opened (`respond()` or `request()`) with
 * {@link CAPSULE_STREAM_OPTIONS}, and ending it cleanly resets it with NO_ERROR once everything queued
 * is sent. Why: Node's `Http2Stream.close(code)` ends the writable side before it resets, so once the
 * peer has sent END_STREAM (a capsule stream cut short) our END_STREAM would close the stream cleanly
 * and the RST_STREAM carrying PROTOCOL_ERROR would never reach the peer. With `waitForTrailers` the last
 * DATA frame goes without END_STREAM and the stream waits for trailers; a CONNECT stream carries none
 * (RFC 9113 §8.5), so the stream is closed with RST_STREAM instead, NO_ERROR or PROTOCOL_ERROR.
 */

/** Give to `respond()` / `request()` of a stream that {@link openCapsuleStream} will run. */
export const CAPSULE_STREAM_OPTIONS = { waitForTrailers: true } as const;

/**
 * How long a reset waits for the queued DATA to leave before it resets anyway (the peer may have closed
 * its flow-control window): a malformed stream must not stay open at the peer's pace.
 */
const RESET_WAIT_MS = 100;

/** What the owner of the stream does with what arrives. */
export interface CapsuleStreamHandlers {
  /**
   * One complete capsule, in order. Its value is a view into the received bytes: copy what must outlive
   * the call.
   * @throws CapsuleError for a value that does not decode: the stream is then reset as malformed.
   */
  capsule(c: Capsule): void;
  /** The peer ended its side (END_STREAM) at a capsule boundary. */
  end(): void;
  /** The stream was malformed and is being reset with PROTOCOL_ERROR; `err` says why. Called once. */
  malformed(err: CapsuleError): void;
}

/** Our side of a running capsule stream. */
export interface CapsuleStream {
  /** Ends the stream cleanly: what is queued is sent, then RST_STREAM(NO_ERROR). Idempotent. */
  end(): void;
}

/**
 * Runs the capsule stream on `stream` (opened with {@link CAPSULE_STREAM_OPTIONS}) until it closes. Any
 * error other than a CapsuleError thrown by a handler is not caught (a bug, not a peer's fault).
 */
export function openCapsuleStream(stream: Http2Stream, handlers: CapsuleStreamHandlers): CapsuleStream {
  const parser = new CapsuleParser();
  let closeCode = constants.NGHTTP2_NO_ERROR;
  let malformed = false;
  // The last DATA frame has gone (without END_STREAM): close with the code chosen.
  stream.on('wantTrailers', () => stream.close(closeCode));
  const finish = (code: number) => {
    if (closeCode === constants.NGHTTP2_NO_ERROR) closeCode = code; // a reset is never downgraded to a clean end
    if (!stream.writableEnded) stream.end();
    if (code === constants.NGHTTP2_NO_ERROR) return;
    // Once our side is ending, close() resets without END_STREAM even with DATA still queued.
    const timer = setTimeout(() => stream.close(code), RESET_WAIT_MS).unref();
    stream.once('close', () => clearTimeout(timer));
  };
  const reset = (e: unknown) => {
    if (!(e instanceof CapsuleError)) throw e;
    malformed = true;
    finish(constants.NGHTTP2_PROTOCOL_ERROR);
    handlers.malformed(e);
  };
  stream.on('data', (chunk: Buffer) => {
    if (malformed) return;
    try {
      for (const c of parser.push(chunk)) handlers.capsule(c);
    } catch (e) {
      reset(e);
    }
  });
  stream.on('end', () => {
    if (malformed) return;
    try {
      parser.end();
    } catch (e) {
      reset(e);
      return;
    }
    handlers.end();
  });
  return { end: () => finish(constants.NGHTTP2_NO_ERROR) };
}
