import koffi from 'koffi';

/**
 * The few libc calls the TUN device needs that Node does not offer, through koffi (no compiler, no native
 * addon of our own), loaded on first use. Each returns what libc returns (-1 on failure, the reason in
 * `koffi.errno()`); none throws for a failed call.
 */

type KoffiFunction = ReturnType<ReturnType<typeof koffi.load>['func']>;

/** The loaded functions. */
export interface Libc {
  /** `int open(const char *path, int flags)`. */
  readonly open: KoffiFunction;
  /** `int ioctl(int fd, unsigned long request, uint8_t *arg)`; `arg` is read and written back. */
  readonly ioctl: KoffiFunction;
  /**
   * `ssize_t read(int fd, void *buf, size_t count)`: the bytes land in the Buffer given, without a copy;
   * -1 with errno EAGAIN on an empty non-blocking descriptor (unlike `fs.readSync`, no exception: an
   * exception captures a stack trace, several microseconds per call).
   */
  readonly read: KoffiFunction;
  /** `const char *strerror(int errnum)`. */
  readonly strerror: KoffiFunction;
}

let libc: Libc | undefined;

/** libc's functions above. @throws Error from koffi when libc.so.6 cannot be loaded (not glibc Linux). */
export function loadLibc(): Libc {
  if (!libc) {
    const lib = koffi.load('libc.so.6');
    libc = {
      open: lib.func('int open(const char *path, int flags)'),
      ioctl: lib.func('int ioctl(int fd, unsigned long request, _Inout_ uint8_t *arg)'),
      read: lib.func('long read(int fd, void *buf, unsigned long count)'),
      strerror: lib.func('const char *strerror(int errnum)'),
    };
  }
  return libc;
}
