import { BUCKET_OF_D, BYTES, HIST, LAST, type ProbeContext } from './kinds.ts';

/** The file calls' `@last` kinds, consecutive: a pending call keeps its operation as 1 + its offset from read. */
const OPS = [LAST.read, LAST.write, LAST.fsync] as const;
if (OPS.some((op, i) => op !== LAST.read + i)) throw new Error('LAST.read, LAST.write, LAST.fsync must be consecutive');

/**
 * File-system probe group: read, write and fsync system calls on regular files only.
 *
 * At entry, in the caller's context, the descriptor is looked up in the task's file table
 * (`curtask->files->fdt->fd[fd]`) and the call is timed only when its inode is a regular file
 * (`S_IFREG`): sockets, pipes, ttys and character devices are left out. The start time and the
 * operation go into one map value, `@fs[tid] = nsecs << 2 | op` (op 1, 2, 3: read, write, fsync;
 * exact while the boot-time clock is below 2^62 ns), so the exit does one lookup and one delete. At exit:
 *
 * - `@hist[name, fs, bucket] = stats(ns)`: podtrace_fs_latency_seconds_histogram{type="FS"};
 * - `@last[name, read|write|fsync] = ns`: podtrace_fs_latency_seconds_gauge{type};
 * - `@bytes[name, read|write] = sum(ret)`: podtrace_filesystem_bytes_total{operation}, bytes the call
 *   returned (not what was asked).
 *
 * Calls: read, pread64, readv, preadv, preadv2; write, pwrite64, writev, pwritev, pwritev2; fsync and
 * fdatasync (as fsync). Not seen: mmap'ed I/O, io_uring, AIO, sendfile/splice/copy_file_range.
 */
export function fsProbes(p: ProbeContext): string {
  const timeIfRegular = (op: (typeof OPS)[number]) => `{
  $fd = (uint64)args->fd;
  $fdt = ((struct task_struct *)curtask)->files->fdt;
  if ($fd < (uint64)$fdt->max_fds) {
    $file = *($fdt->fd + $fd);
    if (($file->f_inode->i_mode & 0xf000) == 0x8000) { @fs[tid] = (nsecs << 2) | ${op - LAST.read + 1}; }
  }
}`;
  return `
// ---- fs: read/write/fsync on regular files
tracepoint:syscalls:sys_enter_read, tracepoint:syscalls:sys_enter_pread64, tracepoint:syscalls:sys_enter_readv,
tracepoint:syscalls:sys_enter_preadv, tracepoint:syscalls:sys_enter_preadv2
/${p.traced}/
${timeIfRegular(LAST.read)}

tracepoint:syscalls:sys_enter_write, tracepoint:syscalls:sys_enter_pwrite64, tracepoint:syscalls:sys_enter_writev,
tracepoint:syscalls:sys_enter_pwritev, tracepoint:syscalls:sys_enter_pwritev2
/${p.traced}/
${timeIfRegular(LAST.write)}

tracepoint:syscalls:sys_enter_fsync, tracepoint:syscalls:sys_enter_fdatasync
/${p.traced}/
${timeIfRegular(LAST.fsync)}

tracepoint:syscalls:sys_exit_read, tracepoint:syscalls:sys_exit_pread64, tracepoint:syscalls:sys_exit_readv,
tracepoint:syscalls:sys_exit_preadv, tracepoint:syscalls:sys_exit_preadv2,
tracepoint:syscalls:sys_exit_write, tracepoint:syscalls:sys_exit_pwrite64, tracepoint:syscalls:sys_exit_writev,
tracepoint:syscalls:sys_exit_pwritev, tracepoint:syscalls:sys_exit_pwritev2,
tracepoint:syscalls:sys_exit_fsync, tracepoint:syscalls:sys_exit_fdatasync
{
  $v = @fs[tid];
  if ($v) {
    delete(@fs[tid]);
    $d = nsecs - ($v >> 2);
    $op = ${LAST.read - 1} + ($v & 3);
    $ret = args->ret;
    $name = ${p.name};
    ${BUCKET_OF_D}
    @hist[$name, ${HIST.fs}, $b] = stats($d);
    @last[$name, $op] = $d;
    if ($ret > 0 && $op == ${LAST.read}) { @bytes[$name, ${BYTES.read}] = sum($ret); }
    if ($ret > 0 && $op == ${LAST.write}) { @bytes[$name, ${BYTES.write}] = sum($ret); }
  }
}
`;
}
