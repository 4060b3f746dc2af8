/**
 * A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` into a temporary directory owned by
 * the unprivileged `postgres` user (PostgreSQL refuses to run as root), `postgres` on a free loopback
 * port in its own process group, trust authentication on loopback only. Nothing depends on a system
 * service; `stop()` ends the server and deletes the directory.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { pollUntil } from './poll.ts';
import { startProcess, type TestProcess } from './processes.ts';

/** Debian's PostgreSQL binaries (`npm run provision` installs the `postgresql` package). */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(root, v, 'bin')).find((d) => existsSync(join(d, 'initdb')));
}

/** A running cluster. */
export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  readonly url: string;
  readonly port: number;
  readonly process: TestProcess;
  /** Stops the server (fast shutdown) and deletes its directory. */
  stop(): Promise<void>;
  /** Kills the server and starts it again on the same port and data (a database restart under load). */
  restart(): Promise<void>;
}

/**
 * Starts a cluster and waits until it accepts connections.
 * @throws Error naming the package to install when PostgreSQL is missing; Error with the server's output when it does not start within 30 s.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed: run `npm run provision` (Debian package postgresql)');
  const dir = mkdtempSync('/tmp/otel-contracts-pg-');
  const data = join(dir, 'data');
  const asRoot = userInfo().uid === 0;
  const owner = asRoot ? (JSON.parse(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()) as number) : undefined;
  if (owner !== undefined) chownSync(dir, owner, owner);
  // setpriv execs in place (runuser would fork and leave the server outside the process group the test stops).
  const as = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', cmd, ...args]] : [cmd, args]);
  const [initCmd, initArgs] = as(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  execFileSync(initCmd, initArgs, { stdio: 'ignore' });
  const port = await freePort();
  let proc: TestProcess;
  const start = async () => {
    const [cmd, args] = as(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off', '-c', 'full_page_writes=off']);
    proc = startProcess('postgres', cmd, args);
    await proc.waitForLine(/database system is ready to accept connections/, { stream: 'stderr', timeoutMs: 30_000 });
  };
  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    get process() {
      return proc;
    },
    async stop() {
      await proc.stop('SIGINT', 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await proc.stop('SIGKILL', 5_000);
      await pollUntil('postgres gone', async () => proc.exitInfo(), (e) => e !== null, { timeoutMs: 10_000 });
      await start();
    },
  };
}
