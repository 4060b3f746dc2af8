import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { TargetError } from './exposition/target-error.ts';

/** An exposition opened for streaming. */
export interface OpenedTarget {
  readonly kind: 'url' | 'file' | 'stdin';
  /** The URL, the file path, or `-`. */
  readonly name: string;
  readonly chunks: AsyncIterable<Uint8Array | string>;
  /** Describes an error thrown while iterating `chunks` (a timeout mid-body, a reset). */
  describeReadError(err: unknown): string;
}

/** Options of {@link openTarget}. */
export interface OpenTargetOptions {
  /** Bound in milliseconds on connecting and reading the whole body of a URL. */
  readonly timeoutMs: number;
  /** What `-` reads (called only for `-`). */
  readonly stdin: () => AsyncIterable<Uint8Array | string>;
}

/** The `Accept` header sent: the Prometheus text format 0.0.4 only. */
export const ACCEPT_TEXT_0_0_4 = 'text/plain;version=0.0.4;q=1,*/*;q=0.1';

/** True for `http://` and `https://` targets. */
export function isUrlTarget(target: string): boolean {
  return /^https?:\/\//i.test(target);
}

function causeOf(err: unknown): string {
  const e = err as Error & { cause?: NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] } };
  const c = e.cause;
  if (c) {
    const codes = c.errors?.map((x) => x.code ?? x.message).join(', ');
    return [c.code, codes || c.message].filter(Boolean).join(': ');
  }
  return e.message;
}

function isTimeout(err: unknown): boolean {
  const e = err as Error & { cause?: Error };
  return e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError' || (e?.name === 'AbortError' && /timeout/i.test(String(e.message)));
}

/**
 * Opens a check target: an `http(s)://` URL (GET with `Accept: text/plain;version=0.0.4`, the whole
 * exchange bounded by `timeoutMs`), `-` for standard input, or a file path.
 * @throws TargetError when the URL is unreachable, times out or answers other than 2xx with a text
 * exposition, or when the file does not exist or is not a regular file.
 */
export async function openTarget(target: string, opts: OpenTargetOptions): Promise<OpenedTarget> {
  const seconds = opts.timeoutMs / 1000;
  if (isUrlTarget(target)) {
    let res: Response;
    try {
      res = await fetch(target, { headers: { Accept: ACCEPT_TEXT_0_0_4 }, signal: AbortSignal.timeout(opts.timeoutMs), redirect: 'follow' });
    } catch (err) {
      if (isTimeout(err)) throw new TargetError(`no response from ${target} within ${seconds} s: check the address, or raise --timeout`);
      throw new TargetError(`cannot reach ${target} (${causeOf(err)}): is the component running and listening there?`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new TargetError(`${target} answered HTTP ${res.status} ${res.statusText}: expected 200 with a Prometheus text exposition`);
    }
    const ct = (res.headers.get('content-type') ?? '').toLowerCase();
    if (ct.includes('application/openmetrics-text') || ct.includes('protobuf')) {
      await res.body?.cancel().catch(() => {});
      throw new TargetError(`${target} answered with ${ct}: only the Prometheus text format 0.0.4 (text/plain; version=0.0.4) is supported`);
    }
    const body = res.body;
    return {
      kind: 'url',
      name: target,
      chunks: body ?? emptyChunks(),
      describeReadError: (err) => (isTimeout(err) ? `the body did not finish within ${seconds} s (--timeout)` : `the connection failed: ${causeOf(err)}`),
    };
  }
  if (target === '-') return { kind: 'stdin', name: '-', chunks: opts.stdin(), describeReadError: (err) => `standard input: ${(err as Error).message}` };
  let st;
  try {
    st = await stat(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TargetError(
      code === 'ENOENT'
        ? `no such file: ${target} (a target is a URL starting with http:// or https://, a file, or - for standard input)`
        : `cannot read ${target}: ${(err as Error).message}`,
    );
  }
  if (!st.isFile() && !st.isFIFO()) throw new TargetError(`${target} is not a regular file`);
  return {
    kind: 'file',
    name: target,
    chunks: createReadStream(target, { highWaterMark: 64 * 1024 }),
    describeReadError: (err) => `cannot read ${target}: ${(err as Error).message}`,
  };
}

async function* emptyChunks(): AsyncGenerator<Uint8Array> {}
