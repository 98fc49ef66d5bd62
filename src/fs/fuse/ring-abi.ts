// The kernel's side of a FUSE ring entry (include/uapi/linux/fuse.h): its
// commands, its header buffer, and what its results mean.
import { errno } from '../../sys/libc.js';

export const FUSE_IO_URING_CMD_REGISTER = 1;
export const FUSE_IO_URING_CMD_COMMIT_AND_FETCH = 2;
const { EAGAIN, ENOTCONN, ECONNABORTED, ECANCELED } = errno;
/** What a wait gives when no request came within the entry's wait limit (positive: never an errno). */
export const TIMED_OUT = 1;
/** What register() gives before the kernel has finished INIT: offer the entry again a moment later. */
export const NOT_INITIALIZED = -EAGAIN;

/** Whether a ring command's result says the session is over: unmounted, or the daemon going. */
export function sessionEnded(result: number): boolean {
  return result === -ENOTCONN || result === -ECONNABORTED || result === -ECANCELED;
}

/** struct fuse_uring_req_header: in_out (the in or out header), op_in (the op's own header), ring_ent_in_out */
export const ringHeader = {
  /** fuse_in_header of a request; fuse_out_header of its reply */
  inOut: 0,
  /** the request's first argument (fuse_read_in, fuse_write_in, ...), when it has one */
  opIn: 128,
  /** struct fuse_uring_ent_in_out */
  entInOut: 256,
  /** fuse_uring_ent_in_out.payload_sz: bytes of the payload in use, both ways */
  payloadSize: 256 + 16,
  size: 288,
} as const;
