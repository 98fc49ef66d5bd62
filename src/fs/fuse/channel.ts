// The FUSE channel: the /dev/fuse fd of one mount, and the two system calls
// a FUSE server makes on it. This module (with mount.ts) is the binding:
// the only code under src/fs that calls into native code. Requests are read
// and replies written by whichever thread holds the fd; a reply is matched
// to its request by `unique`, so any thread may answer any request.
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const readFd = libc.func('long read(int fd, _Out_ void *buf, size_t count)');
const writeFd = libc.func('long write(int fd, const void *buf, size_t count)');

export const channelErrno = {
  /** the request was interrupted, or the read was: try again */
  EINTR: 4,
  /** the reply's request is gone (interrupted and forgotten by the kernel) */
  ENOENT: 2,
  /** the mount was unmounted */
  ENODEV: 19,
} as const;

export class ChannelError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call} on /dev/fuse failed: errno ${errno}`);
  }
}

/** Blocks until a request arrives; returns its length. Throws ChannelError(ENODEV) once unmounted. */
export function readRequest(fd: number, buffer: Uint8Array): number {
  for (;;) {
    const n = Number(readFd(fd, buffer, buffer.length));
    if (n >= 0) return n;
    const errno = koffi.errno();
    if (errno !== channelErrno.EINTR) throw new ChannelError('read', errno);
  }
}

/** Writes one whole reply. A reply to a request the kernel dropped (ENOENT) is not an error. */
export function writeReply(fd: number, reply: Uint8Array): void {
  for (;;) {
    if (Number(writeFd(fd, reply, reply.length)) >= 0) return;
    const errno = koffi.errno();
    if (errno === channelErrno.ENOENT) return;
    if (errno !== channelErrno.EINTR) throw new ChannelError('write', errno);
  }
}
