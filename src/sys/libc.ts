// The one binding of libc (koffi), for every layer: the backend (ioctls on
// KVM's fds, guest memory), the FUSE transport (/dev/fuse, io_uring,
// thread affinity) and the CLI (umount2). ioctl and syscall are variadic in
// C, and koffi has no .async for variadic functions, so each argument shape
// gets its own fixed-arity declaration.
import koffi from 'koffi';

export const libc = koffi.load('libc.so.6');

export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const F_SETFL = 4;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_FAILED = 0xffffffffffffffffn;
export const SIGUSR2 = 12;
export const MNT_DETACH = 2;
/** errno values by name, as this OS numbers them */
export const errno = koffi.os.errno;

export const open = libc.func('int open(const char *path, int flags)');
export const close = libc.func('int close(int fd)');
export const read = libc.func('long read(int fd, _Out_ void *buf, size_t count)');
export const write = libc.func('long write(int fd, const void *buf, size_t count)');
export const fcntl = libc.func('int fcntl(int fd, int cmd, long arg)');
export const mallocTrim = libc.func('int malloc_trim(size_t pad)');
export const poll = libc.func('int poll(_Inout_ void *fds, unsigned long nfds, int timeout)');
/** ioctl(fd, request, unsigned long): requests whose argument is a number. */
export const ioctlValue = libc.func('int ioctl(int fd, unsigned long request, unsigned long arg)');
/** ioctl(fd, request, void *): requests whose argument is a struct in memory. */
export const ioctlPointer = libc.func('int ioctl(int fd, unsigned long request, void *arg)');
/**
 * ioctl(fd, request, T *) for one struct type, e.g. `_Out_ kvm_regs *`:
 * koffi marshals the struct in (const) or out (_Out_) of the call.
 */
export function ioctlWith(argType: string): (fd: number, request: number, arg: unknown) => number {
  return libc.func(`int ioctl(int fd, unsigned long request, ${argType} arg)`);
}
/** syscall(nr, ...) with the argument types `args` (a C parameter list): one declaration per shape. */
export function syscallWith(args: string): (...values: unknown[]) => number | bigint {
  return libc.func(`long syscall(long nr, ${args})`);
}
export const mmap = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)');
export const munmap = libc.func('int munmap(void *addr, size_t length)');
export const strerror = libc.func('const char *strerror(int errnum)');
export const pthreadSelf = libc.func('uint64_t pthread_self()');
export const pthreadKill = libc.func('int pthread_kill(uint64_t thread, int sig)');
export const pthreadSetaffinity = libc.func('int pthread_setaffinity_np(uint64_t thread, size_t size, const void *mask)');
export const schedSetaffinity = libc.func('int sched_setaffinity(int pid, size_t size, const void *mask)');
export const umount2 = libc.func('int umount2(const char *target, int flags)');
export const mount = libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)');

/**
 * An error that carries an errno: a failed system call (`new SysError('KVM_RUN', EBUSY)`,
 * the message is strerror's) or a refusal of the file system
 * (`new SysError(EBUSY, 'the vcpu is running')`, also known as FsError).
 * The errno reaches the caller unchanged (as rust-vmm's errno::Error).
 */
export class SysError extends Error {
  readonly errno: number;
  /** the call that failed, for a failed system call */
  readonly call: string | undefined;

  constructor(errno: number, message: string);
  constructor(call: string, errno: number);
  constructor(first: number | string, second: string | number) {
    const [code, call, message] = typeof first === 'number'
      ? [first, undefined, String(second)]
      : [Number(second), first, `${first}: ${strerror(Number(second)) ?? `errno ${String(second)}`}`];
    super(message);
    this.name = 'SysError';
    this.errno = code;
    this.call = call;
  }
}

/** Throws SysError when a libc call returned -1; returns the result otherwise. */
export function check(call: string, result: number): number {
  if (result < 0) throw new SysError(call, koffi.errno());
  return result;
}

/** The errno of the libc call this thread made last. */
export function lastErrno(): number {
  return koffi.errno();
}

export { koffi };
