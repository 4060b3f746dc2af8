import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** Repository root: `otel-contracts/register` resolves from here through the package self-reference. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** One way of starting the server: extra node flags and environment. */
export interface Variant {
  readonly name: string;
  readonly flags: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

const children = new Set<ChildProcess>();

/** A free TCP port on 127.0.0.1 (bound and released). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
}

/**
 * Starts `node <flags> script` and resolves with its port once it prints `{"port":N}` on stdout.
 * @throws when it exits first (its stderr in the message).
 */
export async function startServer(v: Variant, script: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [...v.flags, script], { cwd: ROOT, env: { ...baseEnv(), ...v.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) res(Number(m[1]));
    });
    child.once('exit', (code) => rej(new Error(`${v.name} server exited (${code}) before listening:\n${err}`)));
  });
  return { port, child };
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the child is gone. */
export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(t);
      res();
    });
    child.kill('SIGTERM');
  });
}

/** Kills every child still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stop));
}

/** Wall time in ms of `node <flags> -e "process.exit(0)"`: process start, preload, exit. */
export function startupMs(v: Variant): Promise<number> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...v.flags, '-e', 'process.exit(0)'], { cwd: ROOT, env: { ...baseEnv(), ...v.env }, stdio: 'ignore' });
    children.add(child);
    child.once('error', rej);
    child.once('exit', (code) => {
      children.delete(child);
      if (code !== 0) rej(new Error(`${v.name}: node -e exited ${code}`));
      else res(performance.now() - t0);
    });
  });
}
