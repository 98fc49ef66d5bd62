// The FUSE wire protocol (<linux/fuse.h>), requests side: the opcode table
// (name and the size of each op's fixed in-struct, as go-fuse's
// opcode.go), and decodeRequest, which turns a request into one typed
// FuseRequest (as fuser's request.rs). Every request is decoded here and
// nowhere else, whichever transport brought it. Replies: replies.ts.

/** Protocol version kvmfs answers with: 7.31 has max_pages (1 MiB requests) and is old enough for every kernel kvmfs runs on. */
export const KERNEL_VERSION = 7;
export const KERNEL_MINOR_VERSION = 31;

export const ROOT_ID = 1;

/**
 * Every opcode kvmfs may see: its name (the --debug output shows it) and
 * the size of the op's fixed in-struct, which comes first in the body
 * (a ring entry's op_in); names and data follow it (a ring entry's payload).
 */
const OPCODES = {
  LOOKUP: [1, 0], FORGET: [2, 8], GETATTR: [3, 16], SETATTR: [4, 88], READLINK: [5, 0], SYMLINK: [6, 0],
  MKNOD: [8, 16], MKDIR: [9, 8], UNLINK: [10, 0], RMDIR: [11, 0], RENAME: [12, 8], LINK: [13, 8],
  OPEN: [14, 8], READ: [15, 40], WRITE: [16, 40], STATFS: [17, 0], RELEASE: [18, 24], FSYNC: [20, 16],
  SETXATTR: [21, 8], GETXATTR: [22, 8], LISTXATTR: [23, 8], REMOVEXATTR: [24, 0], FLUSH: [25, 24],
  INIT: [26, 64], OPENDIR: [27, 8], READDIR: [28, 40], RELEASEDIR: [29, 24], FSYNCDIR: [30, 16],
  GETLK: [31, 48], SETLK: [32, 48], SETLKW: [33, 48], ACCESS: [34, 8], CREATE: [35, 16],
  INTERRUPT: [36, 8], BMAP: [37, 16], DESTROY: [38, 0], IOCTL: [39, 32], POLL: [40, 24],
  BATCH_FORGET: [42, 8], FALLOCATE: [43, 32], READDIRPLUS: [44, 40], RENAME2: [45, 16], LSEEK: [46, 24],
  COPY_FILE_RANGE: [47, 56], SYNCFS: [50, 8], TMPFILE: [51, 16], STATX: [52, 24],
} as const;

export type OpName = keyof typeof OPCODES;

/** Opcode numbers by name. */
export const opcode = Object.fromEntries(Object.entries(OPCODES).map(([name, [code]]) => [name, code])) as { [Name in OpName]: (typeof OPCODES)[Name][0] };

const byCode = new Map<number, { name: OpName; inSize: number }>(
  Object.entries(OPCODES).map(([name, [code, inSize]]) => [code, { name: name as OpName, inSize }]),
);

/** The name of an opcode, for people (`opcode 99` if unknown). */
export function opcodeName(code: number): string {
  return byCode.get(code)?.name ?? `opcode ${code}`;
}

/** The line --debug prints for a request, and where it was served. */
export function debugLine(request: RequestHeader, servedBy: string): string {
  return `kvmfs: ${opcodeName(request.opcode)} node ${request.nodeId} unique ${request.unique} (${servedBy})\n`;
}

export const initFlags = {
  ASYNC_READ: 1 << 0,
  BIG_WRITES: 1 << 5,
  MAX_PAGES: 1 << 22,
  /** fuse_init_in/out carry flags2, the high 32 bits of the flags */
  INIT_EXT: 1 << 30,
} as const;

/** Bits of flags2 (the flags' high half, FUSE_INIT_EXT) */
export const initFlags2 = {
  /** FUSE_OVER_IO_URING: requests may come through io_uring ring queues, one per CPU (uring.ts) */
  OVER_IO_URING: 1 << 9,
} as const;

/** fuse_open_out.open_flags: pseudo files never go through the page cache. */
export const FOPEN_DIRECT_IO = 1 << 0;
/** close(2) sends no FLUSH for this file (kvmfs does nothing on flush): one request less per close */
export const FOPEN_NOFLUSH = 1 << 5;

/** fuse_setattr_in.valid bits */
export const fattr = { MODE: 1 << 0, UID: 1 << 1, GID: 1 << 2, SIZE: 1 << 3, ATIME: 1 << 4, MTIME: 1 << 5 } as const;

export const IN_HEADER_SIZE = 40;
export const OUT_HEADER_SIZE = 16;
/** fuse_read_in / fuse_write_in */
export const IO_IN_SIZE = 40;

/** fuse_in_header, as every request carries it. */
export interface RequestHeader {
  opcode: number;
  unique: bigint;
  nodeId: number;
  uid: number;
  gid: number;
  pid: number;
}

export interface SetattrIn {
  valid: number;
  size: number;
  mode: number;
  uid: number;
  gid: number;
}

export interface ForgetOne {
  nodeId: number;
  lookups: number;
}

export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
  /** 0 unless flags has INIT_EXT */
  flags2: number;
}

/** Ops whose request is a name (the first one, for RENAME, RENAME2, SYMLINK, LINK: the new entry's or the source's). */
type NamedOp = 'LOOKUP' | 'MKDIR' | 'RMDIR' | 'UNLINK' | 'SYMLINK' | 'MKNOD' | 'CREATE' | 'RENAME' | 'RENAME2' | 'LINK';

/** One request, decoded: the header's fields and the op's own. */
export type FuseRequest = RequestHeader & (
  | { op: NamedOp; name: Uint8Array }
  | { op: 'INIT'; init: InitIn }
  | { op: 'SETATTR'; set: SetattrIn }
  | { op: 'OPEN'; flags: number }
  | { op: 'READ'; fh: number; offset: number; size: number }
  | { op: 'WRITE'; fh: number; offset: number; size: number; data: Uint8Array }
  | { op: 'RELEASE'; fh: number }
  | { op: 'READDIR'; offset: number; size: number }
  | { op: 'FORGET' | 'BATCH_FORGET'; forgets: ForgetOne[] }
  | { op: 'INTERRUPT'; target: bigint }
  /** everything kvmfs answers from the header alone (GETATTR, STATFS, ...) or not at all (ENOSYS) */
  | { op: 'OTHER'; name: string }
);

const NAMED: ReadonlySet<string> = new Set<NamedOp>(['LOOKUP', 'MKDIR', 'RMDIR', 'UNLINK', 'SYMLINK', 'MKNOD', 'CREATE', 'RENAME', 'RENAME2', 'LINK']);

/**
 * Decodes a request from its three parts: the fuse_in_header, the op's
 * fixed in-struct, and what follows it (names, a write's data). A ring
 * entry holds them apart; splitRequest cuts a /dev/fuse request so.
 */
export function decodeRequest(headerBytes: Uint8Array, opIn: Uint8Array, payload: Uint8Array): FuseRequest {
  const view = viewOf(headerBytes);
  const header: RequestHeader = {
    opcode: view.getUint32(4, true),
    unique: view.getBigUint64(8, true),
    nodeId: Number(view.getBigUint64(16, true)),
    uid: view.getUint32(24, true),
    gid: view.getUint32(28, true),
    pid: view.getUint32(32, true),
  };
  const name = opcodeName(header.opcode);
  const op = viewOf(opIn);
  if (NAMED.has(name)) return { ...header, op: name as NamedOp, name: nameAt(payload) };
  switch (name) {
    case 'READ':
    case 'WRITE': {
      const io = { fh: Number(op.getBigUint64(0, true)), offset: Number(op.getBigUint64(8, true)), size: op.getUint32(16, true) };
      return name === 'READ' ? { ...header, op: name, ...io } : { ...header, op: name, ...io, data: payload.subarray(0, io.size) };
    }
    case 'OPEN':
      return { ...header, op: name, flags: op.getUint32(0, true) };
    case 'RELEASE':
      return { ...header, op: name, fh: Number(op.getBigUint64(0, true)) };
    case 'READDIR':
      return { ...header, op: name, offset: Number(op.getBigUint64(8, true)), size: op.getUint32(16, true) };
    case 'SETATTR':
      return {
        ...header, op: name,
        set: { valid: op.getUint32(0, true), size: Number(op.getBigUint64(16, true)), mode: op.getUint32(68, true), uid: op.getUint32(76, true), gid: op.getUint32(80, true) },
      };
    case 'INIT': {
      const flags = op.getUint32(12, true);
      const flags2 = flags & initFlags.INIT_EXT && opIn.length >= 20 ? op.getUint32(16, true) : 0;
      return { ...header, op: name, init: { major: op.getUint32(0, true), minor: op.getUint32(4, true), maxReadahead: op.getUint32(8, true), flags, flags2 } };
    }
    case 'FORGET':
      return { ...header, op: name, forgets: [{ nodeId: header.nodeId, lookups: Number(op.getBigUint64(0, true)) }] };
    case 'BATCH_FORGET':
      return { ...header, op: name, forgets: batchForgets(op.getUint32(0, true), viewOf(payload)) };
    case 'INTERRUPT':
      return { ...header, op: name, target: op.getBigUint64(0, true) };
    default:
      return { ...header, op: 'OTHER', name };
  }
}

/** The parts of a whole request (as /dev/fuse gives it, and as requests are passed between threads). */
export function splitRequest(request: Uint8Array): [header: Uint8Array, opIn: Uint8Array, payload: Uint8Array] {
  const length = Math.min(request.length, viewOf(request).getUint32(0, true));
  const inSize = byCode.get(viewOf(request).getUint32(4, true))?.inSize ?? 0;
  const opInEnd = Math.min(length, IN_HEADER_SIZE + inSize);
  return [request.subarray(0, IN_HEADER_SIZE), request.subarray(IN_HEADER_SIZE, opInEnd), request.subarray(opInEnd, length)];
}

/** decodeRequest of a whole request. */
export function decodeWhole(request: Uint8Array): FuseRequest {
  return decodeRequest(...splitRequest(request));
}

function batchForgets(count: number, entries: DataView): ForgetOne[] {
  const forgets: ForgetOne[] = [];
  for (let i = 0; i < count && (i + 1) * 16 <= entries.byteLength; i++) {
    forgets.push({ nodeId: Number(entries.getBigUint64(i * 16, true)), lookups: Number(entries.getBigUint64(i * 16 + 8, true)) });
  }
  return forgets;
}

/** The NUL-terminated name at the start of `bytes`, as raw bytes. */
function nameAt(bytes: Uint8Array): Uint8Array {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end);
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
