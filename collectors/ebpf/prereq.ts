import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A missing prerequisite or bad target: the message says what and how to fix it; the command exits 2. */
export class EbpfInputError extends Error {
  override readonly name = 'EbpfInputError';
}

/** Where the prerequisites are looked for (overridable for tests and unusual hosts). */
export interface PrereqOptions {
  /** The bpftrace binary (default: `bpftrace` on PATH; `OTEL_CONTRACTS_BPFTRACE`). */
  readonly bpftrace?: string;
  /** The tracefs mount point (default /sys/kernel/tracing; `OTEL_CONTRACTS_TRACEFS`). */
  readonly tracefs?: string;
  /** The kernel's BTF (default /sys/kernel/btf/vmlinux; `OTEL_CONTRACTS_BTF`). */
  readonly btf?: string;
  /** The effective uid (default process.getuid()). */
  readonly uid?: number;
}

/** What was found. */
export interface Prerequisites {
  readonly bpftrace: string;
  readonly version: string;
  readonly tracefs: string;
  /** True when this call mounted tracefs. */
  readonly mountedTracefs: boolean;
}

/** {@link PrereqOptions} from the environment. */
export function prereqOptionsFromEnv(env: NodeJS.ProcessEnv): PrereqOptions {
  return {
    ...(env.OTEL_CONTRACTS_BPFTRACE ? { bpftrace: env.OTEL_CONTRACTS_BPFTRACE } : {}),
    ...(env.OTEL_CONTRACTS_TRACEFS ? { tracefs: env.OTEL_CONTRACTS_TRACEFS } : {}),
    ...(env.OTEL_CONTRACTS_BTF ? { btf: env.OTEL_CONTRACTS_BTF } : {}),
  };
}

function which(cmd: string): string | undefined {
  if (cmd.includes('/')) return existsSync(cmd) ? cmd : undefined;
  const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

/**
 * Checks, in order, that we run as root, that bpftrace is there, that the kernel has BTF and that tracefs
 * is mounted (mounting it when it is not: `mount -t tracefs nodev <tracefs>`).
 * @throws EbpfInputError naming the missing piece and the fix.
 */
export function checkPrerequisites(opts: PrereqOptions = {}): Prerequisites {
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  if (uid !== 0) throw new EbpfInputError(`podtrace loads eBPF programs and must run as root (uid 0; this is uid ${uid}): run it with sudo`);
  const wanted = opts.bpftrace ?? 'bpftrace';
  const bpftrace = which(wanted);
  if (!bpftrace) {
    throw new EbpfInputError(`bpftrace not found (${wanted}): install it with \`apt-get install -y bpftrace\` (Debian/Ubuntu) or \`npm run provision\``);
  }
  let version = 'unknown';
  try {
    version = execFileSync(bpftrace, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch (e) {
    throw new EbpfInputError(`${bpftrace} --version failed (${(e as Error).message.split('\n')[0]}): reinstall bpftrace`);
  }
  const btf = opts.btf ?? '/sys/kernel/btf/vmlinux';
  if (!existsSync(btf)) {
    throw new EbpfInputError(`no kernel BTF at ${btf}: podtrace reads kernel structures through BTF; use a kernel built with CONFIG_DEBUG_INFO_BTF=y`);
  }
  const tracefs = opts.tracefs ?? '/sys/kernel/tracing';
  if (existsSync(`${tracefs}/events`)) return { bpftrace, version, tracefs, mountedTracefs: false };
  const r = spawnSync('mount', ['-t', 'tracefs', 'nodev', tracefs], { encoding: 'utf8', timeout: 10_000 });
  if (r.status === 0 && existsSync(`${tracefs}/events`)) return { bpftrace, version, tracefs, mountedTracefs: true };
  const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim();
  throw new EbpfInputError(`tracefs is not mounted at ${tracefs} and mounting it failed (${why}): run \`mount -t tracefs nodev ${tracefs}\` as root, or allow it (a container needs CAP_SYS_ADMIN)`);
}
