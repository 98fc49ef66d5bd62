// What the FUSE session asks of the file system it serves (KvmFs): its
// operations by path or open file. Each throws to fail; an errno error
// (FsError) says which errno the caller gets.
import type { OffThread, Stat } from '../node.js';

export interface Filesystem {
  /** Runs one operation on `path`; a failure is recorded (last_error) before it is rethrown. */
  guard<T>(path: string, operation: () => T | Promise<T>): Promise<T>;
  /** A failure of an operation on `path` served elsewhere (on a reader thread), recorded like any other. */
  recordFailure(path: string, failure: { errno: number; message: string }): void;
  getattr(path: string): Stat;
  readdir(path: string): string[];
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  chmod(path: string, mode: number): void;
  chown(path: string, uid: number, gid: number): void;
  truncate(path: string, size: number): void;
  /** Creating, removing, renaming or linking `path`: always refused. */
  deny(path: string): never;
  /** Opens `path` (open(2) flags); returns a handle. */
  open(path: string, flags: number): number;
  read(handle: number, target: Buffer, offset: number): Promise<number>;
  write(handle: number, data: Buffer, offset: number): Promise<number>;
  release(handle: number): void;
  /** How reader threads may serve the open file, if they may; `required` if only they may (its read may last). */
  offThreadOf(handle: number): { offThread: OffThread; required: boolean } | undefined;
  /** The caller of a read of the open file that may last was interrupted: end the read. */
  interrupt(handle: number): void;
}
