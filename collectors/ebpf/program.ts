import { cpuOnExit, cpuOnFork, cpuProbes } from './probes/cpu.ts';
import { dnsProbes } from './probes/dns.ts';
import { fsProbes } from './probes/fs.ts';
import type { ProbeContext } from './probes/kinds.ts';
import { sockProbes } from './probes/sock.ts';
import { tcpProbes } from './probes/tcp.ts';

/** Which tasks are traced. */
export type Selection =
  /** These processes (thread-group ids) and every process they fork from now on. */
  | { readonly kind: 'pid'; readonly pids: readonly number[] }
  /** Every task whose cgroup v2 id is one of these (a cgroup and its descendants at start). */
  | { readonly kind: 'cgroup'; readonly ids: readonly bigint[] }
  /** Every task whose own command name (comm, at most 15 characters) is this. */
  | { readonly kind: 'comm'; readonly comm: string };

/** The aggregate maps the program prints, cumulatively, every interval and once more at exit. */
export const PRINTED_MAPS = ['@hist', '@last', '@bytes'] as const;

/** The process name of the current task: its thread-group leader's comm (threads may rename themselves). */
const PROCESS_NAME = '((struct task_struct *)curtask)->group_leader->comm';

function contextOf(sel: Selection): ProbeContext {
  switch (sel.kind) {
    case 'pid':
      return { traced: '@traced[pid]', name: PROCESS_NAME };
    case 'cgroup':
      return { traced: '@cg[cgroup]', name: PROCESS_NAME };
    case 'comm':
      if (!/^[^"\\\n]{1,15}$/.test(sel.comm)) throw new Error(`comm "${sel.comm}": expected 1 to 15 characters without quotes or backslashes`);
      return { traced: `comm == "${sel.comm}"`, name: PROCESS_NAME };
  }
}

/** The line the program prints once every probe is attached (bpftrace runs BEGIN after attaching). */
export const READY_LINE = 'ready';

/** BEGIN: the selection's seeds, then {@link READY_LINE}. */
function beginProbe(sel: Selection): string {
  const seeds = sel.kind === 'pid' ? sel.pids.map((p) => `  @traced[${p}] = 1;`) : sel.kind === 'cgroup' ? sel.ids.map((id) => `  @cg[${id}] = 1;`) : [];
  return `
// ---- start: seed the selection; BEGIN runs once all probes are attached, so "${READY_LINE}" means tracing
BEGIN
{
${[...seeds, `  printf("${READY_LINE}\\n");`].join('\n')}
}
`;
}

/**
 * The task lifecycle: one program each on `sched_process_fork` and `sched_process_exit` (every fork and
 * exit of the machine runs them), holding the selection's own state in pid mode (children of traced
 * processes are traced; a traced process's exit is printed) and the CPU group's thread bookkeeping.
 */
function lifecycleProbes(sel: Selection, ctx: ProbeContext): string {
  const pidMode = sel.kind === 'pid';
  return `
// ---- lifecycle: forks and exits${pidMode ? ' (selection: the given processes and their descendants)' : ''}
tracepoint:sched:sched_process_fork
/${ctx.traced}/
{
  $child = args->child_pid;${pidMode ? '\n  @traced[$child] = 1;' : ''}
  $name = ${ctx.name};
  ${cpuOnFork()}
}

tracepoint:sched:sched_process_exit
{${
    pidMode
      ? `
  if (@traced[tid]) {
    delete(@traced[tid]);
    if (tid == pid) { printf("exit %d\\n", pid); }
  }`
      : ''
  }
  ${cpuOnExit()}
}
`;
}

/** Pace of the prints during the first interval, ms: the first data is there soon after attaching. */
export const FIRST_PRINTS_MS = 100;

/**
 * The whole bpftrace program for a selection: the lifecycle probes (fork and exit: the selection and the
 * CPU group's threads), then one probe group per concept (fs, tcp, dns, cpu; see probes/) and the socket
 * block shared by net, tcp and dns (probes/sock.ts), then the interval that prints the three cumulative aggregate
 * maps (`@hist`, `@last`, `@bytes`) every `intervalMs` (and every {@link FIRST_PRINTS_MS} during the
 * first interval, so that the first scrape after start-up has data), and an END that prints them a
 * last time and clears the bookkeeping maps (so bpftrace's exit dump holds nothing else).
 *
 * Each block reads each tracepoint field (`args->x`) once into a variable: bpftrace 0.17 re-reads
 * tracefs's `available_events` about 20 times per `args->` per attach point while compiling, which
 * was most of its start-up time. No tracepoint has two blocks: each block is its own BPF program, run
 * on every hit of its tracepoint, so the groups sharing one are merged into one block.
 *
 * @throws Error for a comm that cannot be put in the program.
 */
export function buildProgram(sel: Selection, opts: { readonly libcPaths: readonly string[]; readonly intervalMs?: number }): string {
  const ctx = contextOf(sel);
  const body = [beginProbe(sel), lifecycleProbes(sel, ctx), fsProbes(ctx), tcpProbes(ctx), sockProbes(ctx), dnsProbes(ctx, opts.libcPaths), cpuProbes(ctx)].join('');
  const printAll = PRINTED_MAPS.map((m) => `print(${m});`).join(' ');
  const ms = Math.max(100, Math.round(opts.intervalMs ?? 1000));
  const firstPrints = Math.floor(ms / FIRST_PRINTS_MS) - 1;
  const early =
    firstPrints > 0
      ? `
interval:ms:${FIRST_PRINTS_MS}
/@early < ${firstPrints}/
{
  @early = @early + 1;
  ${printAll}
}
`
      : '';
  const output = `// ---- output: cumulative aggregates, read and turned into deltas by collectors/ebpf/record.ts
interval:ms:${ms}
{
  ${printAll}
}
${early}`;
  const bookkeeping = [...new Set((body + output).match(/@\w+/g) ?? [])].filter((m) => !(PRINTED_MAPS as readonly string[]).includes(m)).sort();
  return `// Generated by otel-contracts (collectors/ebpf/program.ts) for ${describeSelection(sel)}.
${body}
${output}
END
{
  ${bookkeeping.map((m) => `clear(${m});`).join(' ')}
  ${printAll}
  ${PRINTED_MAPS.map((m) => `clear(${m});`).join(' ')}
}
`;
}

/** One phrase for logs. */
export function describeSelection(sel: Selection): string {
  switch (sel.kind) {
    case 'pid':
      return `pid ${sel.pids.join(', ')} and descendants`;
    case 'cgroup':
      return `cgroup v2 id ${sel.ids.join(', ')}`;
    case 'comm':
      return `comm "${sel.comm}"`;
  }
}
