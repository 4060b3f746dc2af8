import { Socket } from 'node:net';
import { DirectReader } from '../kit/direct-reader.ts';

/**
 * Reads an accepted socket into reused buffers, as the kit's `connectDirect` does for a dialled one (see
 * kit/direct-reader.ts for why: a fresh buffer per read makes external memory that forces a full garbage
 * collection every few tens of MiB, and that collection walks the whole heap, the metrics pipeline's
 * included).
 *
 * Why here: the listening peer's both tunnel sockets are accepted (the public connection, and the DATA
 * connection the connecting peer dials in), and Node offers `onread` only to `net.connect`. In the bulk
 * benchmark this cost the listening peer ~0.6 CPU s per GB over the bare two-hop splice's hop (28 full
 * collections per GiB of an 11 MB heap), and held the tunnel under the floor's throughput.
 *
 * How: the same switch Node makes for `connect({ onread })`, done late: reading stopped, the bytes the
 * socket already buffered taken out, then the handle given a user buffer and the socket the `onread`
 * callbacks under Node's own (unexported) symbols, found on a probe socket by their descriptions. This
 * leans on Node internals (`_handle.readStop`, `_handle.useUserBuffer`, the `kBuffer` / `kBufferCb` /
 * `kBufferGen` symbols, the same on Node 22 and 24); when any of them is missing the switch is not made
 * and the socket is read through 'data' events as before (`accepted-reader.test.ts` fails then, so a
 * Node upgrade that removes them is seen).
 */

/** Node's symbols for a socket's `onread` state (lib/internal/stream_base_commons.js). */
interface OnreadSymbols {
  readonly kBuffer: symbol;
  readonly kBufferCb: symbol;
  readonly kBufferGen: symbol;
}

/** The parts of a TCP handle the switch uses. */
interface StreamHandle {
  reading?: boolean;
  readStop?(): number;
  useUserBuffer?(buffer: Uint8Array): void;
}

const symbols: OnreadSymbols | undefined = (() => {
  const probe = new Socket({ onread: { buffer: () => Buffer.alloc(1), callback: () => true } });
  const byName = new Map(Object.getOwnPropertySymbols(probe).map((s) => [s.description, s]));
  probe.destroy();
  const [kBuffer, kBufferCb, kBufferGen] = ['kBuffer', 'kBufferCb', 'kBufferGen'].map((n) => byName.get(n));
  return kBuffer && kBufferCb && kBufferGen ? { kBuffer, kBufferCb, kBufferGen } : undefined;
})();

/** True when this Node has what {@link readAcceptedDirect} needs. */
export const ACCEPTED_DIRECT_SUPPORTED = symbols !== undefined;

/** An accepted socket switched by {@link readAcceptedDirect}. */
export interface AcceptedDirect {
  /** Its reader: pass it to `splice` (`readers`), which forwards every later read through it. */
  readonly reader: DirectReader;
  /** Bytes the socket had read before the switch, in order: write them to the destination before the splice. */
  readonly buffered: readonly Buffer[];
}

/**
 * Switches a paused socket (one a server accepted, or any socket not dialled with `connectDirect`) to
 * reading into a {@link DirectReader}. Nothing is read from it until `splice` resumes it.
 * @returns the reader and the bytes read before the switch; undefined (the socket untouched, to be read
 *   through 'data' events) when the socket is not paused, has ended or closed, has no open handle, already
 *   reads into a user buffer, or Node lacks the internals used (see the module comment).
 */
export function readAcceptedDirect(socket: Socket): AcceptedDirect | undefined {
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  const state = socket as unknown as Record<symbol, unknown>;
  if (!symbols || !handle || typeof handle.readStop !== 'function' || typeof handle.useUserBuffer !== 'function') return undefined;
  if (!socket.isPaused() || socket.readableEnded || socket.destroyed || state[symbols.kBuffer]) return undefined;
  // Take what the stream buffered (reading it may restart the handle's reads: stopped right after).
  const buffered: Buffer[] = [];
  for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) buffered.push(chunk);
  if (handle.reading) {
    handle.reading = false;
    if (handle.readStop() !== 0) return undefined;
  }
  const reader = new DirectReader();
  const next = reader.onread.buffer as () => Buffer;
  const first = next();
  state[symbols.kBufferGen] = next;
  state[symbols.kBufferCb] = reader.onread.callback;
  state[symbols.kBuffer] = first;
  handle.useUserBuffer(first);
  return { reader, buffered };
}
