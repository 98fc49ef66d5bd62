// The FUSE wire protocol (<linux/fuse.h>), as far as kvmfs speaks it: the
// request header, the few request bodies it reads, and the replies it
// writes. Pure functions over bytes; nothing here does I/O.

/** Protocol version kvmfs answers with: 7.31 has max_pages (1 MiB requests) and is old enough for every kernel kvmfs runs on. */
export const KERNEL_VERSION = 7;
export const KERNEL_MINOR_VERSION = 31;

export const ROOT_ID = 1;

export const opcode = {
  LOOKUP: 1, FORGET: 2, GETATTR: 3, SETATTR: 4, READLINK: 5, SYMLINK: 6, MKNOD: 8, MKDIR: 9,
  UNLINK: 10, RMDIR: 11, RENAME: 12, LINK: 13, OPEN: 14, READ: 15, WRITE: 16, STATFS: 17,
  RELEASE: 18, FSYNC: 20, SETXATTR: 21, GETXATTR: 22, LISTXATTR: 23, REMOVEXATTR: 24, FLUSH: 25,
  INIT: 26, OPENDIR: 27, READDIR: 28, RELEASEDIR: 29, FSYNCDIR: 30, ACCESS: 34, CREATE: 35,
  INTERRUPT: 36, DESTROY: 38, BATCH_FORGET: 42, RENAME2: 45,
} as const;

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

/** fuse_setattr_in.valid bits */
export const fattr = { MODE: 1 << 0, UID: 1 << 1, GID: 1 << 2, SIZE: 1 << 3, ATIME: 1 << 4, MTIME: 1 << 5 } as const;

export const IN_HEADER_SIZE = 40;
export const OUT_HEADER_SIZE = 16;
const ATTR_SIZE = 88;
export const ENTRY_OUT_SIZE = 40 + ATTR_SIZE;
export const ATTR_OUT_SIZE = 16 + ATTR_SIZE;
const INIT_OUT_SIZE = 64;
const STATFS_OUT_SIZE = 80;
const DIRENT_HEADER_SIZE = 24;
/** fuse_read_in / fuse_write_in */
export const IO_IN_SIZE = 40;

export interface InHeader {
  length: number;
  opcode: number;
  unique: bigint;
  nodeId: number;
  uid: number;
  gid: number;
  pid: number;
}

export function decodeHeader(request: Uint8Array): InHeader {
  const view = viewOf(request);
  return {
    length: view.getUint32(0, true),
    opcode: view.getUint32(4, true),
    unique: view.getBigUint64(8, true),
    nodeId: Number(view.getBigUint64(16, true)),
    uid: view.getUint32(24, true),
    gid: view.getUint32(28, true),
    pid: view.getUint32(32, true),
  };
}

/** The body after the header. */
export function bodyOf(request: Uint8Array): Uint8Array {
  return request.subarray(IN_HEADER_SIZE);
}

/** The NUL-terminated name at `offset` of a body (LOOKUP, MKDIR, RMDIR, ...), as raw bytes. */
export function nameAt(body: Uint8Array, offset = 0): Uint8Array {
  const end = body.indexOf(0, offset);
  return body.subarray(offset, end < 0 ? body.length : end);
}

export interface IoIn {
  fh: number;
  offset: number;
  size: number;
}

/** fuse_read_in and fuse_write_in share their first fields. */
export function decodeIoIn(body: Uint8Array): IoIn {
  const view = viewOf(body);
  return { fh: Number(view.getBigUint64(0, true)), offset: Number(view.getBigUint64(8, true)), size: view.getUint32(16, true) };
}

export interface SetattrIn {
  valid: number;
  size: number;
  mode: number;
  uid: number;
  gid: number;
}

export function decodeSetattr(body: Uint8Array): SetattrIn {
  const view = viewOf(body);
  return {
    valid: view.getUint32(0, true),
    size: Number(view.getBigUint64(16, true)),
    mode: view.getUint32(68, true),
    uid: view.getUint32(76, true),
    gid: view.getUint32(80, true),
  };
}

export interface ForgetOne {
  nodeId: number;
  lookups: number;
}

/** FORGET (one node: the header's) or BATCH_FORGET (a list). */
export function decodeForgets(header: InHeader, body: Uint8Array): ForgetOne[] {
  const view = viewOf(body);
  if (header.opcode === opcode.FORGET) return [{ nodeId: header.nodeId, lookups: Number(view.getBigUint64(0, true)) }];
  const count = view.getUint32(0, true);
  const forgets: ForgetOne[] = [];
  for (let i = 0; i < count; i++) {
    forgets.push({ nodeId: Number(view.getBigUint64(8 + i * 16, true)), lookups: Number(view.getBigUint64(16 + i * 16, true)) });
  }
  return forgets;
}

export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
  /** 0 unless flags has INIT_EXT */
  flags2: number;
}

export function decodeInit(body: Uint8Array): InitIn {
  const view = viewOf(body);
  const flags = view.getUint32(12, true);
  const flags2 = flags & initFlags.INIT_EXT && body.length >= 20 ? view.getUint32(16, true) : 0;
  return { major: view.getUint32(0, true), minor: view.getUint32(4, true), maxReadahead: view.getUint32(8, true), flags, flags2 };
}

/** What stat(2) shows of a node. */
export interface NodeAttr {
  ino: number;
  size: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  mtime: Date;
  ctime: Date;
}

/** A whole reply: fuse_out_header then the payload. `error` is a positive errno (0: success). */
export function reply(unique: bigint, error: number, payload?: Uint8Array): Buffer {
  const out = Buffer.alloc(OUT_HEADER_SIZE + (payload?.length ?? 0));
  writeOutHeader(out, unique, error, out.length);
  if (payload) out.set(payload, OUT_HEADER_SIZE);
  return out;
}

export function writeOutHeader(out: Uint8Array, unique: bigint, error: number, length: number): void {
  const view = viewOf(out);
  view.setUint32(0, length, true);
  view.setInt32(4, -error, true);
  view.setBigUint64(8, unique, true);
}

function writeAttr(view: DataView, at: number, attr: NodeAttr): void {
  // time_t is signed; the nanoseconds are always 0..999999999, also before 1970
  const seconds = (date: Date) => BigInt(Math.floor(date.getTime() / 1000));
  const nanoseconds = (date: Date) => (((date.getTime() % 1000) + 1000) % 1000) * 1_000_000;
  view.setBigUint64(at, BigInt(attr.ino), true);
  view.setBigUint64(at + 8, BigInt(attr.size), true);
  view.setBigUint64(at + 16, BigInt(Math.ceil(attr.size / 512)), true);
  view.setBigInt64(at + 24, seconds(attr.mtime), true); // atime: not kept, shown as mtime
  view.setBigInt64(at + 32, seconds(attr.mtime), true);
  view.setBigInt64(at + 40, seconds(attr.ctime), true);
  view.setUint32(at + 48, nanoseconds(attr.mtime), true);
  view.setUint32(at + 52, nanoseconds(attr.mtime), true);
  view.setUint32(at + 56, nanoseconds(attr.ctime), true);
  view.setUint32(at + 60, attr.mode, true);
  view.setUint32(at + 64, attr.nlink, true);
  view.setUint32(at + 68, attr.uid, true);
  view.setUint32(at + 72, attr.gid, true);
  view.setUint32(at + 76, 0, true); // rdev
  view.setUint32(at + 80, 4096, true); // blksize
}

/**
 * fuse_entry_out with zero validity: sizes (memory, dirty_log) and VMs
 * change behind the kernel's back, so it must ask again every time.
 */
export function entryOut(attr: NodeAttr): Uint8Array {
  const out = new Uint8Array(ENTRY_OUT_SIZE);
  const view = viewOf(out);
  view.setBigUint64(0, BigInt(attr.ino), true);
  writeAttr(view, 40, attr);
  return out;
}

export function attrOut(attr: NodeAttr): Uint8Array {
  const out = new Uint8Array(ATTR_OUT_SIZE);
  writeAttr(viewOf(out), 16, attr);
  return out;
}

export function openOut(fh: number, openFlags: number): Uint8Array {
  const out = new Uint8Array(16);
  const view = viewOf(out);
  view.setBigUint64(0, BigInt(fh), true);
  view.setUint32(8, openFlags, true);
  return out;
}

export function writeOut(size: number): Uint8Array {
  const out = new Uint8Array(8);
  viewOf(out).setUint32(0, size, true);
  return out;
}

export function initOut(flags: number, maxWrite: number, maxPages: number, flags2 = 0): Uint8Array {
  const out = new Uint8Array(INIT_OUT_SIZE);
  const view = viewOf(out);
  view.setUint32(0, KERNEL_VERSION, true);
  view.setUint32(4, KERNEL_MINOR_VERSION, true);
  view.setUint32(8, 0, true); // max_readahead: direct I/O only
  view.setUint32(12, flags, true);
  view.setUint16(16, 16, true); // max_background
  view.setUint16(18, 12, true); // congestion_threshold
  view.setUint32(20, maxWrite, true);
  view.setUint32(24, 1, true); // time_gran: 1 ns
  view.setUint16(28, maxPages, true);
  view.setUint32(32, flags2, true); // read by the kernel only with INIT_EXT in flags
  return out;
}

export function statfsOut(nameMax: number): Uint8Array {
  const out = new Uint8Array(STATFS_OUT_SIZE);
  const view = viewOf(out);
  view.setUint32(40, 4096, true); // bsize
  view.setUint32(44, nameMax, true); // namelen
  view.setUint32(48, 4096, true); // frsize
  return out;
}

export interface DirEntry {
  ino: number;
  name: Uint8Array;
  /** DT_DIR or DT_REG */
  type: number;
}

export const DT_DIR = 4;
export const DT_REG = 8;

/**
 * The fuse_dirent records of `entries` from index `offset` on that fit in
 * `size` bytes. Each record's `off` is the index of the next entry, which is
 * what the kernel passes back to continue.
 */
export function dirents(entries: DirEntry[], offset: number, size: number): Uint8Array {
  const records: Uint8Array[] = [];
  let used = 0;
  for (let index = offset; index < entries.length; index++) {
    const entry = entries[index]!;
    const length = (DIRENT_HEADER_SIZE + entry.name.length + 7) & ~7;
    if (used + length > size) break;
    const record = new Uint8Array(length);
    const view = viewOf(record);
    view.setBigUint64(0, BigInt(entry.ino), true);
    view.setBigUint64(8, BigInt(index + 1), true);
    view.setUint32(16, entry.name.length, true);
    view.setUint32(20, entry.type, true);
    record.set(entry.name, DIRENT_HEADER_SIZE);
    records.push(record);
    used += length;
  }
  return Buffer.concat(records);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
