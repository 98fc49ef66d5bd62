// What a read or a write of an open file does, on whichever thread serves
// it: the main thread (kvmfs.ts) or a FUSE reader thread (a file with
// offThread). A read at offset 0 takes a fresh snapshot; reads past 0
// continue the same snapshot, then EOF (as lxcfs and 9front do). One write
// is one change.
import { errno, FsError } from './errors.js';
import type { PseudoFile } from './node.js';

/** Longest write a text file takes; anything longer is not a state change. */
export const MAX_TEXT_WRITE = 64 * 1024;

/** Where an open file keeps the snapshot its last read at offset 0 took. */
export interface SnapshotStore {
  store(content: Uint8Array): void;
  /** Copies the snapshot from `offset` into `target` (0 at its end); undefined if none was taken yet. */
  copy(offset: number, target: Uint8Array): number | undefined;
}

/** An open file's snapshot, kept in the process (the main thread's open files). */
export class LocalSnapshot implements SnapshotStore {
  private content: Uint8Array | undefined;

  store(content: Uint8Array): void {
    this.content = content;
  }

  copy(offset: number, target: Uint8Array): number | undefined {
    return this.content === undefined ? undefined : copyFrom(this.content, offset, target);
  }
}

/** Reads `target.length` bytes at `offset`; the count read. A snapshot file's read may be async (a promise). */
export function readOpenFile(file: PseudoFile, snapshot: SnapshotStore, offset: number, target: Uint8Array): number | Promise<number> {
  if (file.kind === 'block') return offset >= file.size() ? 0 : file.readAt(offset, target);
  if (!file.read) throw new FsError(errno.EACCES, 'this file can only be written');
  if (offset !== 0) {
    const continued = snapshot.copy(offset, target);
    if (continued !== undefined) return continued;
  }
  const content = file.read();
  const take = (rendered: Buffer | string): number => {
    const bytes = typeof rendered === 'string' ? Buffer.from(rendered) : rendered;
    snapshot.store(bytes);
    return copyFrom(bytes, offset, target);
  };
  return content instanceof Promise ? content.then(take) : take(content);
}

/**
 * One write(2): a block file's at any offset; a text file's parsed whole
 * and applied whole. `cursor.end` is where the previous write on the open
 * file ended: a text write starts at 0 or there. An empty or
 * whitespace-only text write (bash's lone "\n") changes nothing and succeeds.
 */
export function writeOpenFile(file: PseudoFile, cursor: { end: number }, data: Uint8Array, offset: number): number | Promise<number> {
  if (file.kind === 'block') {
    if (!file.writeAt) throw new FsError(errno.EACCES, 'this file is read-only');
    return file.writeAt(offset, data);
  }
  if (!file.write) throw new FsError(errno.EACCES, 'this file is read-only');
  if (offset !== 0 && offset !== cursor.end) {
    throw new FsError(errno.EINVAL, `write at offset ${offset}: a write must start at offset 0 (or where the previous write on this open file ended)`);
  }
  if (data.length > MAX_TEXT_WRITE) throw new FsError(errno.EINVAL, `write of ${data.length} bytes is too large (at most ${MAX_TEXT_WRITE})`);
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const text = bytes.toString('utf8');
  const done = (): number => {
    cursor.end = offset + data.length;
    return data.length;
  };
  if (!file.anyWrite && text.trim() === '') return done();
  const applied = file.write(text, bytes);
  return applied instanceof Promise ? applied.then(done) : done();
}

function copyFrom(content: Uint8Array, offset: number, target: Uint8Array): number {
  if (offset >= content.length) return 0;
  const n = Math.min(content.length - offset, target.length);
  target.set(content.subarray(offset, offset + n));
  return n;
}
