/**
 * Resident memory of a process under test, from /proc (Linux).
 */
import { readFileSync } from 'node:fs';

/**
 * VmRSS of `pid` in bytes.
 * @throws Error when the process is gone or /proc has no VmRSS line.
 */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS line`);
  return Number(m[1]) * 1024;
}
