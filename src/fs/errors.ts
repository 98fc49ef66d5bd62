// Errors become errnos here, and only here. Handlers throw FsError with the
// contract's errno, formats throw FormatError (EINVAL), and the backend
// throws errors carrying KVM's errno, which pass through unchanged.
import { FormatError } from './format/errors.js';

export const errno = {
  EPERM: 1, ENOENT: 2, EIO: 5, ENXIO: 6, EBADF: 9, EAGAIN: 11, EACCES: 13, EBUSY: 16, EEXIST: 17,
  ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, EFBIG: 27, ENOSPC: 28, ENAMETOOLONG: 36, ENOSYS: 38, ENOTEMPTY: 39,
} as const;

export class FsError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message);
    this.name = 'FsError';
  }
}

/** Anything thrown by a handler, as the errno the caller gets and one line for last_error. */
export function toFsError(error: unknown): FsError {
  if (error instanceof FsError) return error;
  if (error instanceof FormatError) return new FsError(errno.EINVAL, error.message);
  if (error instanceof Error && typeof (error as { errno?: unknown }).errno === 'number') {
    return new FsError((error as unknown as { errno: number }).errno, error.message);
  }
  return new FsError(errno.EIO, `internal error: ${error instanceof Error ? error.message : String(error)}`);
}
