import { BUCKET_OF_D, HIST, LAST, type ProbeContext } from './kinds.ts';

/**
 * CPU probe group, podtrace_cpu_block_seconds_histogram / _gauge (type CPU): run-queue wait, from
 * `sched:sched_wakeup`/`sched_wakeup_new` of a traced thread to `sched:sched_switch` onto a CPU.
 *
 * bpftrace 0.17 has no raw tracepoints, so the woken thread's process is not readable at wake-up;
 * threads are learnt instead: `@tt[tid]` with its process name when a traced thread is switched out
 * (`sched_switch` runs in the outgoing task), forks (a traced parent's child) and exec (name refreshed),
 * and forgotten at exit. A thread's first wait after tracing starts is therefore missed. Preemption
 * (runnable → runnable) is not a wake-up and is not counted.
 */
export function cpuProbes(p: ProbeContext): string {
  return `
// ---- cpu: wake-up to running of traced threads
tracepoint:sched:sched_switch
/${p.traced} && !@tt[tid]/
{
  @tt[tid] = 1;
  @tn[tid] = ${p.name};
}

tracepoint:sched:sched_process_fork
/${p.traced}/
{
  @tt[args->child_pid] = 1;
  @tn[args->child_pid] = ${p.name};
}

tracepoint:sched:sched_process_exec
/@tt[tid]/
{
  @tn[tid] = ${p.name};
}

tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new
/@tt[args->pid]/
{
  @wk[args->pid] = nsecs;
}

tracepoint:sched:sched_switch
/@wk[args->next_pid]/
{
  $d = nsecs - @wk[args->next_pid];
  delete(@wk[args->next_pid]);
  ${BUCKET_OF_D}
  @hist[@tn[args->next_pid], ${HIST.cpu}, $b] = stats($d);
  @last[@tn[args->next_pid], ${LAST.cpu}] = $d;
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
