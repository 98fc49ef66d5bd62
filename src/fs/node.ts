// What the tree is made of: directories and pseudo files, each with the
// attributes stat(2) shows. Ownership and mode are kept per node so that
// chown/chmod decide who may use a VM (the kernel checks them with
// default_permissions).
import type { Hypervisor, SharedVcpu, VirtualMachine } from '../backend/hypervisor.js';

export interface Attributes {
  mode: number; // permission bits only
  uid: number;
  gid: number;
  ctime: Date;
  mtime: Date;
}

/** What stat(2) shows of a file or directory. */
export interface Stat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
  /** the size changes with no request through the mount (memory, dirty_log, console): the kernel must not keep it */
  sizeChanges?: boolean;
}

/**
 * A file a FUSE reader thread may serve itself, with no hand-off to the
 * main thread: its reads, and a block file's writes. The file says so here,
 * and files/off-thread.ts builds the same file on the reader thread: entry
 * `factory` there, from `share` (the structured-clonable state its object
 * shares between threads). The hot paths (a `run` loop, a `regs` poll, `dd`
 * of memory) go so, and `run`, whose read blocks while the guest runs.
 */
export interface OffThread {
  factory: string;
  share: unknown;
  /** Main thread only (never sent): whether the object is gone (its VM destroyed), so readers may forget it. */
  gone(): boolean;
}

/**
 * A file whose content is rendered whole at read offset 0 into the open
 * file's buffer (lxcfs style), and whose writes are parsed whole: one
 * write(2) is one change.
 */
export interface SnapshotFile {
  kind: 'snapshot';
  attr: Attributes;
  offThread?: OffThread;
  /** st_size; 0 (like procfs) where the size is not known before reading */
  size?(): number;
  read?(): Promise<Buffer | string> | Buffer | string;
  /**
   * `text` is the write decoded as UTF-8; `bytes` what was written, for
   * binary files. An empty or whitespace-only write is a no-op that
   * succeeds and never gets here, unless `anyWrite`.
   */
  write?(text: string, bytes: Buffer): Promise<void> | void;
  /** The write is an action whatever it says (stop: "any write stops"): even an empty one reaches `write`. */
  anyWrite?: boolean;
  /**
   * A read that may last (run: as long as the guest runs) is never made on
   * the main thread (it needs `offThread`); this ends one in progress early,
   * when its caller is interrupted (FUSE_INTERRUPT: Ctrl-C on `cat run`).
   */
  interrupt?(): void;
}

/** A file read and written in place at any offset (guest memory; the console, read only). */
export interface BlockFile {
  kind: 'block';
  attr: Attributes;
  offThread?: OffThread;
  size(): number;
  readAt(offset: number, target: Uint8Array): number;
  /** absent: the file is read-only (console) */
  writeAt?(offset: number, source: Uint8Array): number;
  /** truncate(2): may grow; never shrinks or wipes (absent: changes nothing) */
  truncate?(size: number): void;
}

export type PseudoFile = SnapshotFile | BlockFile;

export function attributes(mode: number, owner: { uid: number; gid: number }): Attributes {
  const now = new Date();
  return { mode, uid: owner.uid, gid: owner.gid, ctime: now, mtime: now };
}

/** Attributes of a file a reader thread builds to serve it (OffThread): never shown, stat is the main thread's. */
export const offThreadAttributes: Attributes = { mode: 0, uid: 0, gid: 0, ctime: new Date(0), mtime: new Date(0) };

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
