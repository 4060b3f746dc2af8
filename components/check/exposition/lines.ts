import { StringDecoder } from 'node:string_decoder';
import { TargetError } from './target-error.ts';

/** Default cap on an exposition: 64 MiB. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** Default cap on one line: 1 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/** Bounds of a {@link LineSplitter}, in bytes. */
export interface LineLimits {
  readonly maxBytes?: number;
  readonly maxLineBytes?: number;
}

/**
 * Splits a byte stream into `\n`-terminated lines (a trailing `\r` is dropped), holding at most one
 * partial line. Lines are numbered from 1.
 *
 * Errors (all {@link TargetError} with the line number): the input passes `maxBytes` ("too large",
 * on the line where the cap is crossed); a line passes `maxLineBytes`; the input ends without a final
 * newline (truncated).
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private carry = '';
  private bytes = 0;
  private lineNo = 0;
  private readonly maxBytes: number;
  private readonly maxLineBytes: number;
  private readonly onLine: (text: string, line: number) => void;

  constructor(onLine: (text: string, line: number) => void, limits: LineLimits = {}) {
    this.onLine = onLine;
    this.maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
    this.maxLineBytes = limits.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** Complete lines handed out so far. */
  get lines(): number {
    return this.lineNo;
  }

  /** Bytes consumed so far. */
  get byteCount(): number {
    return this.bytes;
  }

  /** Feeds a chunk. @throws TargetError when a cap is crossed, or whatever `onLine` throws. */
  push(chunk: Uint8Array | string): void {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const room = this.maxBytes - this.bytes;
    const over = buf.length > room;
    if (over) buf = buf.subarray(0, room);
    this.bytes += buf.length;
    this.split(this.decoder.write(buf as Buffer));
    if (over) {
      throw new TargetError(
        `exposition too large: more than ${this.maxBytes} bytes (${Math.round(this.maxBytes / 1048576)} MiB); a single target's /metrics should be far smaller — reduce its series`,
        this.lineNo + 1,
      );
    }
  }

  /** Ends the input. @throws TargetError when the last line has no newline (truncated input). */
  end(): void {
    this.carry += this.decoder.end();
    if (this.carry.length > 0) {
      const shown = this.carry.length > 80 ? `${this.carry.slice(0, 80)}...` : this.carry;
      throw new TargetError(`truncated input: the last line does not end with a newline (${JSON.stringify(shown)})`, this.lineNo + 1);
    }
  }

  private split(text: string): void {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      let line = start === 0 && this.carry ? this.carry + text.slice(0, nl) : text.slice(start, nl);
      if (start === 0) this.carry = '';
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.lineNo++;
      if (line.length > this.maxLineBytes) {
        throw new TargetError(`line longer than ${this.maxLineBytes} bytes: not a Prometheus text exposition`, this.lineNo);
      }
      this.onLine(line, this.lineNo);
      start = nl + 1;
    }
    const rest = start === 0 ? text : text.slice(start);
    if (start === 0) this.carry += rest;
    else this.carry = rest;
    if (this.carry.length > this.maxLineBytes) {
      throw new TargetError(`line longer than ${this.maxLineBytes} bytes: not a Prometheus text exposition`, this.lineNo + 1);
    }
  }
}
