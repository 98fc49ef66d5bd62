// The few libc calls kvmfs needs, through koffi. ioctl is variadic in C, and
// koffi has no .async for variadic functions, so each argument shape gets its
// own fixed-arity declaration.
import koffi from 'koffi';

export const libc = koffi.load('libc.so.6');

export const O_RDWR = 0o2;
export const O_CLOEXEC = 0o2000000;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_FAILED = 0xffffffffffffffffn;
export const SIGUSR2 = 12;
/** errno values by name, as this OS numbers them */
export const errno = koffi.os.errno;

export const open = libc.func('int open(const char *path, int flags)');
export const close = libc.func('int close(int fd)');
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
export const mmap = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)');
export const munmap = libc.func('int munmap(void *addr, size_t length)');
export const strerror = libc.func('const char *strerror(int errnum)');
export const pthreadSelf = libc.func('uint64_t pthread_self()');
export const pthreadKill = libc.func('int pthread_kill(uint64_t thread, int sig)');
export const pthreadSetaffinity = libc.func('int pthread_setaffinity_np(uint64_t thread, size_t size, const void *mask)');

/** A failed system call, carrying errno unchanged (as rust-vmm's errno::Error). */
export class SysError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call}: ${strerror(errno) ?? `errno ${errno}`}`);
    this.name = 'SysError';
  }
}

/** Throws SysError when a libc call returned -1; returns the result otherwise. */
export function check(call: string, result: number): number {
  if (result < 0) throw new SysError(call, koffi.errno());
  return result;
}

export { koffi };
