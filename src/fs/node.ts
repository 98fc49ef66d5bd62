// What the tree is made of: directories and pseudo files, each with the
// attributes stat(2) shows. Ownership and mode are kept per node so that
// chown/chmod decide who may use a VM (the kernel checks them with
// default_permissions).

export interface Attributes {
  mode: number; // permission bits only
  uid: number;
  gid: number;
  ctime: Date;
  mtime: Date;
}

/**
 * A file whose content is rendered whole at read offset 0 into the open
 * file's buffer (lxcfs style), and whose writes are parsed whole: one
 * write(2) is one change.
 */
export interface SnapshotFile {
  kind: 'snapshot';
  attr: Attributes;
  /** st_size; 0 (like procfs) where the size is not known before reading */
  size?(): number;
  read?(): Promise<Buffer | string> | Buffer | string;
  write?(text: string): Promise<void> | void;
}

/** A file read and written in place at any offset (guest memory). */
export interface BlockFile {
  kind: 'block';
  attr: Attributes;
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
