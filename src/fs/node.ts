// What the tree is made of: directories and pseudo files, each with the
// attributes stat(2) shows. Ownership and mode are kept per node so that
// chown/chmod decide who may use a VM (the kernel checks them with
// default_permissions).
import type { MemoryShare } from '../backend/guest-memory.js';
import type { VcpuShare } from '../backend/vcpu-protocol.js';
import type { Hypervisor, SharedVcpu, VirtualMachine } from '../backend/hypervisor.js';

export interface Attributes {
  mode: number; // permission bits only
  uid: number;
  gid: number;
  ctime: Date;
  mtime: Date;
}

/**
 * A file whose reads (and memory's writes) a FUSE reader thread serves
 * itself, attached to the shared state this names, instead of passing them
 * to the main thread: the hot paths (a `run` loop, a `regs` poll, `dd` of
 * memory), and `run`, whose read blocks for as long as the guest runs.
 */
export type SharedFile =
  | { kind: 'run'; vcpu: VcpuShare }
  | { kind: 'regs'; vcpu: VcpuShare }
  | { kind: 'memory'; memory: MemoryShare };

/**
 * A file whose content is rendered whole at read offset 0 into the open
 * file's buffer (lxcfs style), and whose writes are parsed whole: one
 * write(2) is one change.
 */
export interface SnapshotFile {
  kind: 'snapshot';
  attr: Attributes;
  shared?: SharedFile;
  /** st_size; 0 (like procfs) where the size is not known before reading */
  size?(): number;
  read?(): Promise<Buffer | string> | Buffer | string;
  /** `text` is the write decoded as UTF-8; `bytes` what was written, for binary files */
  write?(text: string, bytes: Buffer): Promise<void> | void;
}

/** A file read and written in place at any offset (guest memory). */
export interface BlockFile {
  kind: 'block';
  attr: Attributes;
  shared?: SharedFile;
  size(): number;
  readAt(offset: number, target: Uint8Array): number;
  writeAt(offset: number, source: Uint8Array): number;
  /** truncate(2): may grow; never shrinks or wipes */
  truncate(size: number): void;
}

export type PseudoFile = SnapshotFile | BlockFile;

export function attributes(mode: number, owner: { uid: number; gid: number }): Attributes {
  const now = new Date();
  return { mode, uid: owner.uid, gid: owner.gid, ctime: now, mtime: now };
}

/** Permission bits of the tree's files and directories. */
export const modes = {
  readOnly: 0o444,
  ownerRead: 0o400,
  ownerReadWrite: 0o600,
  ownerWrite: 0o200,
  ownerDirectory: 0o700,
} as const;

/** A directory's files, by name. */
export type FileEntries = Array<[string, PseudoFile]>;

/** What the files of one directory are made from; `file` gives a new file's attributes. */
export interface RootContext { hypervisor: Hypervisor; file: (mode: number) => Attributes }
export interface VmContext { vm: VirtualMachine; file: (mode: number) => Attributes }
export interface VcpuContext { vcpu: SharedVcpu; vm: VirtualMachine; file: (mode: number) => Attributes }
