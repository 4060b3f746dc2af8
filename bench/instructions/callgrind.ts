import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { READY_TAG, RESULT_TAG, V8_FLAGS, type ChildResult } from './child.ts';
import { MARKER_SYMBOL } from './marker.ts';

/**
 * Runs one child (child.ts) under `valgrind --tool=callgrind`, its instrumentation off until the child is
 * warm (`--instr-atstart=no`, then `callgrind_control -i on` when the child says it is ready), with a dump of
 * the counters at every marker, and reads the instructions of each counted segment back from the dump files.
 */

/** One dump file's header: its part number (1 = from the start to the first marker) and instructions. */
export interface DumpPart {
  readonly part: number;
  readonly instructions: number;
}

/**
 * Reads the part number and the total instruction count (`Ir`) from the text of one callgrind dump file.
 * @throws Error when the text has no `part:` or no `totals:`/`summary:` line.
 */
export function parseDump(text: string): DumpPart {
  const part = /^part:\s*(\d+)\s*$/m.exec(text);
  const total = /^totals:\s*(\d+)/m.exec(text) ?? /^summary:\s*(\d+)/m.exec(text);
  if (!part || !total) throw new Error('not a callgrind dump: no "part:" or "totals:" line');
  return { part: Number(part[1]), instructions: Number(total[1]) };
}

/**
 * The counted segments' instructions from the dumps of one run, in order: the child's protocol (child.ts)
 * makes parts 2, 4, 6, ... its segments (baseline first), and the others set-up, collections and exit.
 * @throws Error when a part is missing.
 */
export function segmentInstructions(parts: readonly DumpPart[], segments: number): number[] {
  const byPart = new Map(parts.map((p) => [p.part, p.instructions]));
  return Array.from({ length: segments }, (_, k) => {
    const n = byPart.get(2 * (k + 1));
    if (n === undefined) throw new Error(`callgrind wrote no dump part ${2 * (k + 1)} (segment ${k}); parts seen: ${[...byPart.keys()].sort((a, b) => a - b).join(', ')}`);
    return n;
  });
}

/** What one callgrind run of a child gives: the child's own report and each segment's instructions. */
export interface ChildRun {
  readonly child: ChildResult;
  readonly instructions: readonly number[];
}

/** Options of {@link runChild}. */
export interface RunChildOptions {
  /** The Node binary: the repository's pinned one (`process.execPath` under `npm run`). */
  readonly node: string;
  /** The bundled child (bundle.ts). */
  readonly entry: string;
  readonly path: string;
  readonly implementation: string;
  readonly counts: readonly number[];
  readonly warmup: number;
  /** Run natively, without callgrind (a quick check that the child works); `instructions` is then empty. */
  readonly native?: boolean;
}

/**
 * Runs the child once.
 * @throws Error with the child's (or valgrind's) stderr when it exits non-zero or prints no result.
 */
export async function runChild(o: RunChildOptions): Promise<ChildRun> {
  const dir = mkdtempSync(join(tmpdir(), 'otel-contracts-callgrind-'));
  try {
    const childArgs = [...V8_FLAGS, o.entry, o.path, o.implementation, o.counts.join(','), String(o.warmup)];
    const [cmd, args] = o.native
      ? [o.node, childArgs]
      : ['valgrind', ['--tool=callgrind', '-q', '--instr-atstart=no', `--callgrind-out-file=${join(dir, 'callgrind.out')}`, `--dump-before=${MARKER_SYMBOL}`, o.node, ...childArgs]];
    const { code, stdout, stderr } = await run(cmd, args as string[], o.native ? async () => {} : (pid) => instrumentationOn(pid));
    const line = stdout.split('\n').find((l) => l.startsWith(`${RESULT_TAG} `));
    if (code !== 0 || !line) throw new Error(`${o.path} / ${o.implementation}: ${o.native ? 'node' : 'callgrind'} exited ${code}${line ? '' : ' without a result'}\n${stderr.trim()}`);
    const child = JSON.parse(line.slice(RESULT_TAG.length + 1)) as ChildResult;
    if (o.native) return { child, instructions: [] };
    const parts = readdirSync(dir).map((f) => parseDump(readFileSync(join(dir, f), 'utf8')));
    return { child, instructions: segmentInstructions(parts, child.operations.length) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Turns callgrind's instrumentation on in the valgrind process `pid`; resolves once it is on. */
function instrumentationOn(pid: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('callgrind_control', ['-i', 'on', String(pid)], (err, out, errOut) => (err ? reject(new Error(`callgrind_control -i on ${pid} failed: ${errOut || out || err.message}`)) : resolve()));
  });
}

/**
 * Runs `cmd` to its end, collecting its output; when it prints {@link READY_TAG}, awaits `onReady(pid)` and
 * then sends it a line, which lets the child go on (see child.ts).
 */
function run(cmd: string, args: string[], onReady: (pid: number) => Promise<void>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let ready = false;
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (!ready && stdout.includes(`${READY_TAG}\n`)) {
        ready = true;
        onReady(p.pid as number).then(
          () => p.stdin.end('\n'),
          (e: unknown) => {
            stderr += `${(e as Error).message}\n`;
            p.kill('SIGKILL');
          },
        );
      }
    });
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.stdin.on('error', () => {}); // the child may exit before reading its line
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
