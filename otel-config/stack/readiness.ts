// Before and after a start: is the binary there and are the ports free (preflight), and does the
// started process answer its readiness URL (waitReady).
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { isAlive } from './pid-files.ts';
import { HOST, StackError, expectedCollectorHash, findExecutable, logFile, rel } from './parts.ts';
import type { PartSpec, Resolved } from './parts.ts';

/** Binds 127.0.0.1:`port` (0: the kernel's choice) and releases it; resolves to the bound port, or null when it is taken. */
export function tryListen(port: number): Promise<number | null> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once('error', () => done(null));
    srv.listen({ port, host: HOST, exclusive: true }, () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : null;
      srv.close(() => done(got));
    });
  });
}

/** True when 127.0.0.1:`port` is free right now. */
export async function portFree(port: number): Promise<boolean> {
  return (await tryListen(port)) !== null;
}

/** True when GET `url` answers 2xx within `timeoutMs`. */
export async function httpOk(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok;
  } catch {
    return false;
  }
}

/** Resolves after `ms` milliseconds (pacing for the polling loops). */
export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

function tail(file: string, lines = 15): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).map((l) => `    | ${l}`).join('\n');
  } catch {
    return '    | (no log)';
  }
}

/**
 * Checks that `spec` can start: its binary exists (and, for the collector, warns when it was built
 * from another builder-config.yaml) and none of its ports is taken. Resolves to the binary's path.
 * @throws StackError naming the missing binary or the taken port and what to do.
 */
export async function preflight(r: Resolved, spec: PartSpec): Promise<string> {
  const bin = findExecutable(spec.bin);
  if (!bin) {
    throw new StackError(spec.name, `binary '${spec.bin}' not found${spec.bin.includes('/') ? '' : ' on PATH'}`, spec.installHint);
  }
  if (spec.name === 'collector' || /^(?:gateway|backend)-/.test(spec.name)) {
    const want = expectedCollectorHash(r);
    const hashFile = `${bin}.hash`;
    const have = existsSync(hashFile) ? readFileSync(hashFile, 'utf8').trim() : null;
    if (want && have && want !== have) {
      r.log.warn({ part: spec.name, built: have, manifest: want }, 'collector binary was built from another builder-config.yaml; run `otel-contracts stack provision` to rebuild');
    }
  }
  for (const { port, what } of spec.ports) {
    if (!(await portFree(port))) {
      throw new StackError(
        spec.name,
        `port ${HOST}:${port} (${what}) is already in use by another process`,
        `stop it (find it with \`ss -ltnp 'sport = :${port}'\`), or run \`otel-contracts stack status\` / \`otel-contracts stack down\` if it is an earlier stack`,
      );
    }
  }
  return bin;
}

/**
 * Polls `spec.readyUrl` until it answers, for at most the ready timeout.
 * @throws StackError with the last log lines when the child exits first or the timeout passes, or
 *   when `interrupted()` names a signal.
 */
export async function waitReady(r: Resolved, spec: PartSpec, child: ChildProcess, interrupted: () => string | null): Promise<void> {
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = signal ? `signal ${signal}` : `exit code ${code}`;
  });
  const log = logFile(r, spec.name);
  const deadline = Date.now() + r.readyTimeoutMs;
  const t0 = Date.now();
  let nextNote = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const sig = interrupted();
    if (sig) throw new StackError('stack', `interrupted by ${sig} while starting ${spec.name}`, '');
    if (exited !== null || (child.pid !== undefined && !isAlive(child.pid))) {
      throw new StackError(spec.name, `exited during startup (${exited ?? 'not running'}); last log lines:\n${tail(log)}`, `see ${rel(log)}`);
    }
    if (await httpOk(spec.readyUrl)) {
      r.log.info({ part: spec.name, childPid: child.pid, ms: Date.now() - t0 }, 'ready');
      return;
    }
    if (Date.now() > nextNote) {
      r.log.info({ part: spec.name, waitedMs: Date.now() - t0 }, `waiting for ${spec.readyUrl}`);
      nextNote = Date.now() + 10_000;
    }
    await sleep(100);
  }
  throw new StackError(
    spec.name,
    `not ready after ${Math.round(r.readyTimeoutMs / 1000)} s (${spec.readyUrl}); last log lines:\n${tail(log)}`,
    `see ${rel(log)}`,
  );
}
