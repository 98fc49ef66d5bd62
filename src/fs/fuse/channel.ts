// The FUSE channel: the /dev/fuse fd of one mount, its clones, and the
// system calls a FUSE server makes on them. This module (with
// kernel-mount.ts and uring.ts) is the binding: the only code under src/fs
// that calls into native code (libc through src/sys/libc.ts). A reply is matched to its request by `unique` and must
// be written to the clone the request was read from; any thread may write it.
import {
  errno, fcntl, F_SETFL, ioctlWith, lastErrno, O_CLOEXEC, O_NONBLOCK, O_RDWR, open as openFile, poll, read as readFd, SysError, write as writeFd,
} from '../../sys/libc.js';

const ioctlClone = ioctlWith('_In_ uint32_t *');
/** _IOR(229, 0, uint32_t): a new /dev/fuse fd that reads and answers requests of an existing session */
const FUSE_DEV_IOC_CLONE = 0x8004e500;
/**
 * EINTR: interrupted, try again; EAGAIN: no request waits (a non-blocking
 * read); ENOENT: a reply's request is gone (interrupted and forgotten by the
 * kernel); ENODEV (thrown): the mount was unmounted.
 */
const { EINTR, EAGAIN, ENOENT, ENODEV } = errno;

/** A clone of session fd `fd`: requests read from it are answered on it. */
export function cloneChannel(fd: number): number {
  const clone = openFile('/dev/fuse', O_RDWR | O_CLOEXEC);
  if (clone < 0) throw new SysError('open /dev/fuse', lastErrno());
  if (ioctlClone(clone, FUSE_DEV_IOC_CLONE, [fd]) < 0) throw new SysError('FUSE_DEV_IOC_CLONE', lastErrno());
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
 * loaded); then sleeps in poll(2), calling `idle.rest` each `idle.ms`
 * with no request, then reads. `fd` must be this thread's own clone.
 * Throws SysError (ENODEV) once unmounted.
 */
export function readRequest(fd: number, buffer: Uint8Array, pollNs = 0n, idle?: { ms: number; rest(): void }): number {
  if (pollNs > 0n) {
    setNonBlocking(fd, true);
    const until = process.hrtime.bigint() + pollNs;
    for (;;) {
      const n = Number(readFd(fd, buffer, buffer.length));
      if (n >= 0) return n;
      const errno = lastErrno();
      if (errno !== EAGAIN && errno !== EINTR) throw new SysError('read', errno);
      if (process.hrtime.bigint() > until) break;
    }
  }
  setNonBlocking(fd, false);
  if (idle) while (!pollChannel(fd, idle.ms)) idle.rest();
  for (;;) {
    const n = Number(readFd(fd, buffer, buffer.length));
    if (n >= 0) return n;
    const errno = lastErrno();
    if (errno !== EINTR) throw new SysError('read', errno);
  }
}

/** struct pollfd { int fd; short events; short revents; } for pollChannel */
const pollRecord = Buffer.alloc(8);
const POLLIN = 1;

/** Whether a request waits to be read (or the session ended), without reading it; waits up to `timeoutMs` for one. */
export function pollChannel(fd: number, timeoutMs = 0): boolean {
  pollRecord.writeInt32LE(fd, 0);
  pollRecord.writeInt16LE(POLLIN, 4);
  pollRecord.writeInt16LE(0, 6);
  return poll(pollRecord, 1, timeoutMs) !== 0; // -1 too: let the caller's read see what is wrong
}

/** Writes one whole reply. A reply to a request the kernel dropped (ENOENT), or after the session ended (ENODEV), is not an error. */
export function writeReply(fd: number, reply: Uint8Array): void {
  for (;;) {
    if (Number(writeFd(fd, reply, reply.length)) >= 0) return;
    const errno = lastErrno();
    if (errno === ENOENT || errno === ENODEV) return; // ENODEV: the session is over, its requests with it
    if (errno !== EINTR) throw new SysError('write', errno);
  }
}
