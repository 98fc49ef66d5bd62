// The FUSE channel: the /dev/fuse fd of one mount, its clones, and the
// system calls a FUSE server makes on them. This module (with
// kernel-mount.ts) is the binding: the only code under src/fs that calls
// into native code. A reply is matched to its request by `unique` and must
// be written to the clone the request was read from; any thread may write it.
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const readFd = libc.func('long read(int fd, _Out_ void *buf, size_t count)');
const writeFd = libc.func('long write(int fd, const void *buf, size_t count)');
const fcntl = libc.func('int fcntl(int fd, int cmd, long arg)');
const openFile = libc.func('int open(const char *path, int flags)');
const ioctlClone = libc.func('int ioctl(int fd, unsigned long request, _In_ uint32_t *session)');
const poll = libc.func('int poll(_Inout_ void *fds, unsigned long nfds, int timeout)');
const F_SETFL = 4;
const O_RDWR = 0o2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
/** _IOR(229, 0, uint32_t): a new /dev/fuse fd that reads and answers requests of an existing session */
const FUSE_DEV_IOC_CLONE = 0x8004e500;
/**
 * EINTR: interrupted, try again; EAGAIN: no request waits (a non-blocking
 * read); ENOENT: a reply's request is gone (interrupted and forgotten by the
 * kernel); ENODEV (thrown): the mount was unmounted.
 */
const { EINTR, EAGAIN, ENOENT } = koffi.os.errno;

export class ChannelError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call} on /dev/fuse failed: errno ${errno}`);
  }
}

/** A clone of session fd `fd`: requests read from it are answered on it. */
export function cloneChannel(fd: number): number {
  const clone = openFile('/dev/fuse', O_RDWR | O_CLOEXEC);
  if (clone < 0) throw new ChannelError('open /dev/fuse', koffi.errno());
  if (ioctlClone(clone, FUSE_DEV_IOC_CLONE, [fd]) < 0) throw new ChannelError('FUSE_DEV_IOC_CLONE', koffi.errno());
  return clone;
}

/** Clones whose reads are non-blocking now: switched only when a poll starts or gives up. */
const nonBlocking = new Set<number>();

function setNonBlocking(fd: number, on: boolean): void {
  if (nonBlocking.has(fd) === on) return;
  fcntl(fd, F_SETFL, on ? O_NONBLOCK : 0); // a clone has no other status flags
  if (on) nonBlocking.add(fd);
  else nonBlocking.delete(fd);
}

/**
 * Returns the next request's length. Polls for `pollNs` first: a request
 * that comes meanwhile (the next read of a `run` loop) is taken without a
 * wake-up, on the thread that served the last one (where the vcpu is
 * loaded); then sleeps in read(2). `fd` must be this thread's own clone.
 * Throws ChannelError(ENODEV) once unmounted.
 */
export function readRequest(fd: number, buffer: Uint8Array, pollNs = 0n): number {
  if (pollNs > 0n) {
    setNonBlocking(fd, true);
    const until = process.hrtime.bigint() + pollNs;
    for (;;) {
      const n = Number(readFd(fd, buffer, buffer.length));
      if (n >= 0) return n;
      const errno = koffi.errno();
      if (errno !== EAGAIN && errno !== EINTR) throw new ChannelError('read', errno);
      if (process.hrtime.bigint() > until) break;
    }
  }
  setNonBlocking(fd, false);
  for (;;) {
    const n = Number(readFd(fd, buffer, buffer.length));
    if (n >= 0) return n;
    const errno = koffi.errno();
    if (errno !== EINTR) throw new ChannelError('read', errno);
  }
}

/** struct pollfd { int fd; short events; short revents; } for pollChannel */
const pollRecord = Buffer.alloc(8);
const POLLIN = 1;

/** Whether a request waits to be read (or the session ended), without reading it or waiting. */
export function pollChannel(fd: number): boolean {
  pollRecord.writeInt32LE(fd, 0);
  pollRecord.writeInt16LE(POLLIN, 4);
  pollRecord.writeInt16LE(0, 6);
  return poll(pollRecord, 1, 0) !== 0; // -1 too: let the caller's read see what is wrong
}

/** Writes one whole reply. A reply to a request the kernel dropped (ENOENT) is not an error. */
export function writeReply(fd: number, reply: Uint8Array): void {
  for (;;) {
    if (Number(writeFd(fd, reply, reply.length)) >= 0) return;
    const errno = koffi.errno();
    if (errno === ENOENT) return;
    if (errno !== EINTR) throw new ChannelError('write', errno);
  }
}
