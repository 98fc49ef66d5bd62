// Errors become errnos here, and only here. Handlers throw FsError with the
// contract's errno, formats throw FormatError (EINVAL), and the backend
// throws SysError carrying KVM's errno, which passes through unchanged.
// FsError and SysError are one class (src/sys/libc.ts): FsError is its
// name where a file refuses something, SysError where a call failed.
import { FormatError } from './format/errors.js';
import { SysError } from '../sys/libc.js';

export const errno = {
  EPERM: 1, ENOENT: 2, EIO: 5, ENXIO: 6, EBADF: 9, EAGAIN: 11, EACCES: 13, EBUSY: 16, EEXIST: 17,
  ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, EFBIG: 27, ENOSPC: 28, ENAMETOOLONG: 36, ENOSYS: 38, ENOTEMPTY: 39,
} as const;

export { SysError as FsError };

/** Anything thrown by a handler, as the errno the caller gets and one line for last_error. */
export function toFsError(error: unknown): SysError {
  if (error instanceof SysError) return error;
  if (error instanceof FormatError) return new SysError(errno.EINVAL, error.message);
  if (error instanceof Error && typeof (error as { errno?: unknown }).errno === 'number') {
    return new SysError((error as unknown as { errno: number }).errno, error.message);
  }
  return new SysError(errno.EIO, `internal error: ${error instanceof Error ? error.message : String(error)}`);
}
