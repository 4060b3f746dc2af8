import { BUCKET_OF_D, HIST, LAST, type ProbeContext } from './kinds.ts';

/**
 * CPU probe group, podtrace_cpu_block_seconds_histogram / _gauge (type CPU): run-queue wait, from
 * `sched:sched_wakeup`/`sched_wakeup_new` of a traced thread to `sched:sched_switch` onto a CPU.
 *
 * bpftrace 0.17 has no raw tracepoints, so the woken thread's process is not readable at wake-up;
 * threads are learnt instead: `@tt[tid]` with its process name when a traced thread is switched out
 * (`sched_switch` runs in the outgoing task; one block serves both uses, since it runs on every context
 * switch of the machine), forks (a traced parent's child) and exec (name refreshed), and forgotten at exit.
 * A thread's first wait after tracing starts is therefore missed. Preemption (runnable → runnable) is not a
 * wake-up and is not counted.
 */
export function cpuProbes(p: ProbeContext): string {
  return `
// ---- cpu: wake-up to running of traced threads
tracepoint:sched:sched_process_fork
/${p.traced}/
{
  $child = args->child_pid;
  @tt[$child] = 1;
  @tn[$child] = ${p.name};
}

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
  if (${p.traced} && !@tt[tid]) {
    @tt[tid] = 1;
    @tn[tid] = ${p.name};
  }
  $next = args->next_pid;
  if (@wk[$next]) {
    $d = nsecs - @wk[$next];
    delete(@wk[$next]);
    ${BUCKET_OF_D}
    @hist[@tn[$next], ${HIST.cpu}, $b] = stats($d);
    @last[@tn[$next], ${LAST.cpu}] = $d;
  }
}

tracepoint:sched:sched_process_exit
/@tt[tid]/
{
  delete(@tt[tid]);
  delete(@tn[tid]);
  delete(@wk[tid]);
}
`;
}
