// The replies kvmfs writes on the FUSE channel (<linux/fuse.h>): the out
// header and the payloads of the requests it answers. Pure functions over
// bytes; nothing here does I/O.
import { KERNEL_MINOR_VERSION, KERNEL_VERSION, OUT_HEADER_SIZE, viewOf } from './protocol.js';

const ATTR_SIZE = 88;
export const ENTRY_OUT_SIZE = 40 + ATTR_SIZE;
export const ATTR_OUT_SIZE = 16 + ATTR_SIZE;
const INIT_OUT_SIZE = 64;
const STATFS_OUT_SIZE = 80;
const DIRENT_HEADER_SIZE = 24;

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
  /** seconds the kernel may keep these attributes without asking (absent: 0, ask every time) */
  attrValid?: number;
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
 * fuse_entry_out: the name stays valid for `entryValid` seconds and the
 * attributes for `attr.attrValid` (0: the kernel asks again every time).
 */
export function entryOut(attr: NodeAttr, entryValid = 0): Uint8Array {
  const out = new Uint8Array(ENTRY_OUT_SIZE);
  const view = viewOf(out);
  view.setBigUint64(0, BigInt(attr.ino), true);
  view.setBigUint64(16, BigInt(entryValid), true);
  view.setBigUint64(24, BigInt(attr.attrValid ?? 0), true);
  writeAttr(view, 40, attr);
  return out;
}

export function attrOut(attr: NodeAttr): Uint8Array {
  const out = new Uint8Array(ATTR_OUT_SIZE);
  const view = viewOf(out);
  view.setBigUint64(0, BigInt(attr.attrValid ?? 0), true);
  writeAttr(view, 16, attr);
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
