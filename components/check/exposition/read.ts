import { TargetError } from './target-error.ts';
import type { ObservationSink } from './sink.ts';
import { LineSplitter, type LineLimits } from './lines.ts';
import { ExpositionParser, type ParserOptions } from './parser.ts';

/** What was read of an exposition. */
export interface ExpositionStats {
  readonly bytes: number;
  readonly lines: number;
  readonly samples: number;
}

/** Options of {@link readExposition}. */
export interface ReadExpositionOptions extends LineLimits, ParserOptions {
  /** Turns a read error (network reset, timeout) into the reason shown; default: the error's message. */
  readonly describeReadError?: (err: unknown) => string;
  /** Sees every line (text without its newline, 1-based number) before the parser does, e.g. for comments it ignores. */
  readonly onLine?: (text: string, line: number) => void;
}

/**
 * Streams a Prometheus text exposition (0.0.4) from `chunks` into `sink`, line by line, holding one
 * partial line at most, and stops reading at the first error (the iterator is closed, which cancels a
 * fetch body or destroys a file stream).
 * @returns byte, line and sample counts.
 * @throws TargetError with the line number: malformed, duplicate HELP/TYPE, truncated, too large, or a read error.
 */
export async function readExposition(chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, sink: ObservationSink, opts: ReadExpositionOptions = {}): Promise<ExpositionStats> {
  const parser = new ExpositionParser(sink, opts);
  const onLine = opts.onLine;
  const splitter = new LineSplitter(
    onLine
      ? (text, n) => {
          onLine(text, n);
          parser.line(text, n);
        }
      : (text, n) => parser.line(text, n),
    opts,
  );
  try {
    for await (const chunk of chunks) splitter.push(chunk);
  } catch (err) {
    if (err instanceof TargetError) throw err;
    const reason = opts.describeReadError ? opts.describeReadError(err) : (err as Error).message;
    throw new TargetError(`reading stopped after ${splitter.lines} lines: ${reason}`, splitter.lines + 1);
  }
  splitter.end();
  parser.end();
  return { bytes: splitter.byteCount, lines: splitter.lines, samples: parser.sampleCount };
}
