import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { stopOnce } from '../safe.ts';
import type { Collector, PodtraceRecorders } from '../types.ts';
import './untraced.ts'; // capture the untraced functions before anything here wraps fs
import { callbackIndex, patchMethod, type Restore } from './wrap.ts';

/** The file-system operation kinds of `podtrace_fs_latency_seconds_gauge{type}`. */
export type FsOperation = 'read' | 'write' | 'fsync';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Fn = (...args: any[]) => any;
type Bytes = (result: unknown, args: readonly unknown[]) => number | undefined;

/** Bytes of a `data` argument (string in the call's encoding, buffer, typed array); undefined for streams/iterables. */
function sizeOf(data: unknown, options?: unknown): number | undefined {
  if (typeof data === 'string') return Buffer.byteLength(data, encodingOf(options));
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return undefined;
}
function encodingOf(options: unknown): BufferEncoding {
  const enc = typeof options === 'string' ? options : (options as { encoding?: unknown } | undefined)?.encoding;
  return typeof enc === 'string' && Buffer.isEncoding(enc) ? enc : 'utf8';
}
/** Runs a byte counter without ever throwing (a throw inside a wrapper's `finally` would replace the app's result). */
function safely(bytes: Bytes, result: unknown, args: readonly unknown[]): number | undefined {
  try {
    return bytes(result, args);
  } catch {
    return undefined;
  }
}
const num: Bytes = (r) => (typeof r === 'number' ? r : undefined);
const dataOf: Bytes = (r, args) => sizeOf(r, args[1]);
const argData: Bytes = (_r, args) => sizeOf(args[1], args[2]);
const none: Bytes = () => undefined;
const field =
  (name: 'bytesRead' | 'bytesWritten'): Bytes =>
  (r) => {
    const v = (r as Record<string, unknown> | undefined)?.[name];
    return typeof v === 'number' ? v : undefined;
  };

/** Callback forms: the callback's first result after `err` is the byte count (read/write/readv/writev) or the data (readFile). */
const CALLBACK: Record<string, [FsOperation, Bytes]> = {
  read: ['read', num],
  readv: ['read', num],
  readFile: ['read', (r, args) => sizeOf(r, typeof args[1] === 'function' ? undefined : args[1])],
  write: ['write', num],
  writev: ['write', num],
  fsync: ['fsync', none],
  fdatasync: ['fsync', none],
};
/** Sync forms: the return value. `writeFileSync`/`appendFileSync` count their data argument. */
const SYNC: Record<string, [FsOperation, Bytes]> = {
  readSync: ['read', num],
  readvSync: ['read', num],
  readFileSync: ['read', dataOf],
  writeSync: ['write', num],
  writevSync: ['write', num],
  writeFileSync: ['write', argData],
  appendFileSync: ['write', argData],
  fsyncSync: ['fsync', none],
  fdatasyncSync: ['fsync', none],
};
/** `fs.promises` functions. */
const PROMISES: Record<string, [FsOperation, Bytes]> = {
  readFile: ['read', dataOf],
  writeFile: ['write', argData],
  appendFile: ['write', argData],
};
/** `FileHandle.prototype` methods (arguments shift by one: no path). */
const FILE_HANDLE: Record<string, [FsOperation, Bytes]> = {
  read: ['read', field('bytesRead')],
  readv: ['read', field('bytesRead')],
  readFile: ['read', (r, args) => sizeOf(r, args[0])],
  write: ['write', field('bytesWritten')],
  writev: ['write', field('bytesWritten')],
  writeFile: ['write', (_r, args) => sizeOf(args[0], args[1])],
  appendFile: ['write', (_r, args) => sizeOf(args[0], args[1])],
  sync: ['fsync', none],
  datasync: ['fsync', none],
};

/** Records one operation that started at `t0` and moved `bytes` (undefined: failed, or not known). Never throws. */
type RecordOperation = (op: FsOperation, t0: number, bytes: number | undefined) => void;

function operationRecorder(rec: PodtraceRecorders, processName: () => string): RecordOperation {
  return (op, t0, bytes) => {
    try {
      const s = (performance.now() - t0) / 1000;
      const process_name = processName();
      rec.podtrace_fs_latency_seconds_histogram.record(s, { type: 'FS', process_name });
      rec.podtrace_fs_latency_seconds_gauge.record(s, { type: op, process_name });
      if (bytes !== undefined && bytes > 0 && op !== 'fsync') rec.podtrace_filesystem_bytes_total.add(bytes, { type: 'FS', process_name, operation: op });
    } catch {
      // never into the app
    }
  };
}

/** How deep the current sync call is in wrapped sync calls: inside one (`depth > 0`), fs calls are not counted again. */
interface SyncDepth {
  depth: number;
}

/** A callback form: timed from the call to its callback, counted unless inside a wrapped sync call. */
function callbackWrap(op: FsOperation, bytes: Bytes, record: RecordOperation, sync: SyncDepth): (orig: Fn) => Fn {
  return (orig) =>
    function (this: unknown, ...args: unknown[]) {
      const i = callbackIndex(args);
      if (i < 0 || sync.depth > 0) return orig.apply(this, args);
      const cb = args[i] as Fn;
      const t0 = performance.now();
      args[i] = function (this: unknown, err: unknown, result: unknown, ...rest: unknown[]) {
        record(op, t0, err ? undefined : safely(bytes, result, args));
        return cb.call(this, err, result, ...rest);
      };
      return orig.apply(this, args);
    };
}

/** A sync form: timed around the call; the calls it makes itself are not counted again. */
function syncWrap(op: FsOperation, bytes: Bytes, record: RecordOperation, sync: SyncDepth): (orig: Fn) => Fn {
  return (orig) =>
    function (this: unknown, ...args: unknown[]) {
      if (sync.depth > 0) return orig.apply(this, args);
      const t0 = performance.now();
      sync.depth++;
      let ok = false;
      let result: unknown;
      try {
        result = orig.apply(this, args);
        ok = true;
        return result;
      } finally {
        sync.depth--;
        record(op, t0, ok ? safely(bytes, result, args) : undefined);
      }
    };
}

/** A promise form: timed until it settles. */
function promiseWrap(op: FsOperation, bytes: Bytes, record: RecordOperation): (orig: Fn) => Fn {
  return (orig) =>
    function (this: unknown, ...args: unknown[]) {
      const t0 = performance.now();
      const p = orig.apply(this, args) as Promise<unknown>;
      return p.then(
        (v) => {
          record(op, t0, safely(bytes, v, args));
          return v;
        },
        (e: unknown) => {
          record(op, t0, undefined);
          throw e;
        },
      );
    };
}

/**
 * `fs.promises.open`, wrapped to reach `FileHandle.prototype` (its class is not exported): the first
 * handle it opens has its prototype's methods wrapped, through `keep` (their restores).
 */
function fileHandleOpenWrap(record: RecordOperation, keep: (r: Restore | undefined) => void): (orig: Fn) => Fn {
  let fileHandleProto: object | undefined;
  const patchFileHandle = (fh: unknown) => {
    if (fileHandleProto || !fh || typeof fh !== 'object') return;
    fileHandleProto = Object.getPrototypeOf(fh) as object;
    for (const [key, [op, bytes]] of Object.entries(FILE_HANDLE)) keep(patchMethod(fileHandleProto, key, promiseWrap(op, bytes, record)));
  };
  return (orig) =>
    function (this: unknown, ...args: unknown[]) {
      const p = orig.apply(this, args) as Promise<unknown>;
      if (fileHandleProto) return p;
      return p.then((fh) => {
        try {
          patchFileHandle(fh);
        } catch {
          // leave FileHandle unwrapped
        }
        return fh;
      });
    };
}

/**
 * File-system latency and bytes (seed 003 "File System Metrics" and "I/O Bandwidth Metrics"): every
 * read, write and fsync through `fs` (callback and sync forms), `fs.promises` / `node:fs/promises` and
 * `FileHandle` into `podtrace_fs_latency_seconds_histogram{type="FS"}`,
 * `podtrace_fs_latency_seconds_gauge{type="read"|"write"|"fsync"}` (fdatasync counts as fsync) and
 * `podtrace_filesystem_bytes_total{type="FS",operation="read"|"write"}`.
 *
 * Only the primitives are wrapped where Node's own helpers go through them (callback `writeFile` and
 * `appendFile` and write streams call `fs.write`, read streams `fs.read`), so an operation is counted
 * once; a sync call made inside another wrapped sync call (`writeFileSync` calls `writeSync`) is not
 * counted again. Failed operations are timed but move no bytes. The collectors' own `/proc` and cgroup
 * reads and the preload's log lines use functions captured before wrapping (see untraced.ts) and are not
 * counted. `FileHandle.prototype` is wrapped at the first `fs.promises.open` (its class is not exported).
 *
 * Call `module.syncBuiltinESMExports()` afterwards so that ESM named imports see the wrappers.
 */
export function startFsCollector(rec: PodtraceRecorders, processName: () => string): Collector {
  const record = operationRecorder(rec, processName);
  const sync: SyncDepth = { depth: 0 };
  const restores: Restore[] = [];
  const keep = (r: Restore | undefined) => r && restores.push(r);

  for (const [key, [op, bytes]] of Object.entries(CALLBACK)) keep(patchMethod(fs, key, callbackWrap(op, bytes, record, sync)));
  for (const [key, [op, bytes]] of Object.entries(SYNC)) keep(patchMethod(fs, key, syncWrap(op, bytes, record, sync)));
  for (const [key, [op, bytes]] of Object.entries(PROMISES)) keep(patchMethod(fs.promises, key, promiseWrap(op, bytes, record)));
  keep(patchMethod(fs.promises, 'open', fileHandleOpenWrap(record, keep)));

  return {
    name: 'fs',
    source: 'wrapped node:fs',
    stop: stopOnce(() => {
      for (const r of restores.reverse()) r();
    }),
  };
}
