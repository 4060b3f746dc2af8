import { execFile } from 'node:child_process';
import { delimiter, join } from 'node:path';
import type { Collector, CollectorLogger, PodtraceRecorders } from '../types.ts';
import { parseSsOutput } from './ss-parse.ts';
import { untraced } from './untraced.ts';

/** Options of {@link startTcpRttCollector}. */
export interface TcpRttOptions {
  /** Sampling interval in ms (default 10000). */
  readonly intervalMs?: number;
  /** Path of `ss`; default: looked up in PATH, /usr/sbin, /sbin, /usr/bin, /bin. */
  readonly ssPath?: string;
  /** Directory listing this process's descriptors (default `/proc/self/fd`). */
  readonly fdDir?: string;
  readonly logger?: CollectorLogger;
  readonly env?: NodeJS.ProcessEnv;
}

/** Finds the `ss` binary (iproute2) without running it. @returns its path, or undefined. */
export function findSs(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    const p = join(d, 'ss');
    try {
      if (untraced.existsSync(p)) return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * Inodes of this process's sockets: `/proc/self/fd/N -> socket:[inode]`.
 * @throws when the descriptor directory cannot be listed (no /proc).
 */
export function ownSocketInodes(fdDir = '/proc/self/fd'): Set<number> {
  const out = new Set<number>();
  for (const fd of untraced.readdirSync(fdDir)) {
    let target: string;
    try {
      target = untraced.readlinkSync(`${fdDir}/${fd}`);
    } catch {
      continue; // closed meanwhile, or the directory's own descriptor
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) out.add(Number(m[1]));
  }
  return out;
}

/**
 * TCP RTT (seed 003 "RTT Metrics") from the kernel's TCP_INFO: every `intervalMs`, off the request path,
 * runs iproute2's `ss -tinHe state established` (which reads TCP_INFO over sock_diag netlink for the
 * network namespace), keeps the sockets whose inode is one of this process's descriptors, and records
 * each socket's smoothed RTT into `podtrace_rtt_seconds{type="NET"}`; `podtrace_rtt_latest_seconds`
 * gets the RTT of the most recently active socket. Sockets opened and closed between two samples are
 * not seen.
 *
 * Why `ss`: no maintained npm package reads TCP_INFO (`sockopt` returns only an int; an N-API addon or an
 * FFI needs a compiler or install scripts that npm now blocks by default), and Node cannot open netlink
 * sockets. Without `ss` (a slim image without iproute2) or /proc, the collector does not start: the caller
 * logs that one line and the others carry on.
 *
 * @throws Error when `ss` is not installed or /proc/self/fd cannot be read.
 */
export function startTcpRttCollector(rec: PodtraceRecorders, processName: () => string, opts: TcpRttOptions = {}): Collector {
  const ss = opts.ssPath ?? findSs(opts.env);
  if (!ss || !untraced.existsSync(ss)) throw new Error(`iproute2 \`ss\` not found (${ss ?? 'PATH, /usr/sbin, /sbin, /usr/bin, /bin'}): TCP RTT (TCP_INFO) unavailable`);
  ownSocketInodes(opts.fdDir); // fails fast without /proc
  let running = false;
  let failures = 0;
  let stopped = false;
  const sample = () => {
    if (running || stopped) return;
    running = true;
    // `ss` lists the whole network namespace and this parses on the app's thread: past 4 MiB (about 8k
    // sockets) the sample is skipped rather than stalling the app.
    execFile(ss, ['-tinHe', 'state', 'established'], { timeout: 5_000, maxBuffer: 4 * 1024 * 1024, windowsHide: true }, (err, stdout) => {
      running = false;
      if (stopped) return;
      if (err) {
        if (failures++ === 0) opts.logger?.warn({ err: err.message }, 'ss failed; TCP RTT samples skipped until it works again (logged once)');
        return;
      }
      try {
        const mine = ownSocketInodes(opts.fdDir);
        const labels = { type: 'NET', process_name: processName() } as const;
        let latest: { rtt: number; idle: number } | undefined;
        for (const s of parseSsOutput(stdout)) {
          if (!mine.has(s.inode)) continue;
          rec.podtrace_rtt_seconds.record(s.rttSeconds, labels);
          const idle = s.idleMs ?? Number.MAX_SAFE_INTEGER;
          if (!latest || idle < latest.idle) latest = { rtt: s.rttSeconds, idle };
        }
        if (latest) rec.podtrace_rtt_latest_seconds.record(latest.rtt, labels);
      } catch {
        // never into the app
      }
    });
  };
  const timer = setInterval(sample, opts.intervalMs ?? 10_000);
  timer.unref();
  return {
    name: 'rtt',
    source: `TCP_INFO via ${ss}`,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
