import { BUCKET_OF_D, HIST, LAST, type ProbeContext } from './kinds.ts';

/**
 * CPU probe group, podtrace_cpu_block_seconds_histogram / _gauge (type CPU): run-queue wait, from
 * `sched:sched_wakeup`/`sched_wakeup_new` of a traced thread to `sched:sched_switch` onto a CPU.
 *
 * bpftrace 0.17 has no raw tracepoints, so the woken thread's process is not readable at wake-up;
 * threads are learnt instead: `@tt[tid]` with its process name `@tn[tid]` when a traced thread is switched
 * out (`sched_switch` runs in the outgoing task; one block serves both uses, since it runs on every
 * context switch of the machine), forks (a traced parent's child, {@link cpuOnFork}) and exec (name
 * refreshed), and forgotten at exit ({@link cpuOnExit}). A thread's first wait after tracing starts is
 * therefore missed. Preemption (runnable → runnable) is not a wake-up and is not counted.
 *
 * The fork and exit statements are parts of the task lifecycle blocks that `program.ts` assembles (one
 * program per tracepoint, shared with the `--pid` selection).
 */
export function cpuProbes(p: ProbeContext): string {
  return `
// ---- cpu: wake-up to running of traced threads
tracepoint:sched:sched_process_exec
/@tt[tid]/
{
  @tn[tid] = ${p.name};
}

tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new
{
  $woken = args->pid;
  if (@tt[$woken]) { @wk[$woken] = nsecs; }
}

tracepoint:sched:sched_switch
{
  if (${p.traced}) {
    if (!@tt[tid]) {
      @tt[tid] = 1;
      @tn[tid] = ${p.name};
    }
  }
  $next = args->next_pid;
  $wk = @wk[$next];
  if ($wk) {
    $d = nsecs - $wk;
    delete(@wk[$next]);
    $n = @tn[$next];
    ${BUCKET_OF_D}
    @hist[$n, ${HIST.cpu}, $b] = stats($d);
    @last[$n, ${LAST.cpu}] = $d;
  }
}
`;
}

/** Statements for `sched_process_fork` of a traced parent, with `$child` and `$name` (the parent's process name) set: the child thread is learnt. */
export function cpuOnFork(): string {
  return `@tt[$child] = 1;
  @tn[$child] = $name;`;
}

/** Statements for `sched_process_exit` of any task: a learnt thread is forgotten. */
export function cpuOnExit(): string {
  return `if (@tt[tid]) {
    delete(@tt[tid]);
    delete(@tn[tid]);
    delete(@wk[tid]);
  }`;
}
