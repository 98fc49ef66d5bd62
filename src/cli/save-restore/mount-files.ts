// How save and restore touch a kvmfs mount: with node:fs, as any user
// program does. The few operations they need are gathered here so that the
// rules of the files are kept in one place (a state file is read whole from
// offset 0, once; a write is one write(2)), and so that unit tests can hand
// the tools a fake mount.
import {
  closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmdirSync,
  statSync, truncateSync, writeSync,
} from 'node:fs';

/** An open memory file, read and written in place at guest physical addresses. */
export interface BlockHandle {
  /** pread: bytes read (less than asked only at the end of memory) */
  readAt(target: Buffer, offset: number): number;
  /** pwrite of all of `source` */
  writeAt(source: Buffer, offset: number): void;
  size(): number;
  close(): void;
}

export interface MountFiles {
  /** The whole file: one snapshot (a read at offset 0, then on to EOF). */
  read(path: string): Buffer;
  /** `data` in one write(2) at offset 0, the file opened without O_CREAT or O_TRUNC. */
  write(path: string, data: Buffer): void;
  exists(path: string): boolean;
  isDirectory(path: string): boolean;
  list(path: string): string[];
  mkdir(path: string): void;
  rmdir(path: string): void;
  /** truncate(2): memory only grows. */
  truncate(path: string, size: number): void;
  open(path: string, writable: boolean): BlockHandle;
}

/** The mount as the kernel shows it. */
export const nodeMountFiles: MountFiles = {
  read: (path) => readFileSync(path),
  write(path, data) {
    const fd = openSync(path, constants.O_WRONLY);
    try {
      const written = writeSync(fd, data, 0, data.length, 0);
      if (written !== data.length) throw new Error(`short write (${written} of ${data.length} bytes)`);
    } finally {
      closeSync(fd);
    }
  },
  exists: (path) => existsSync(path),
  isDirectory: (path) => statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false,
  list: (path) => readdirSync(path),
  mkdir: (path) => mkdirSync(path),
  rmdir: (path) => rmdirSync(path),
  truncate: (path, size) => truncateSync(path, size),
  open(path, writable) {
    const fd = openSync(path, writable ? constants.O_RDWR : constants.O_RDONLY);
    return {
      readAt: (target, offset) => readSync(fd, target, 0, target.length, offset),
      writeAt(source, offset) {
        for (let done = 0; done < source.length;) {
          done += writeSync(fd, source, done, source.length - done, offset + done);
        }
      },
      size: () => fstatSync(fd).size,
      close: () => closeSync(fd),
    };
  },
};

/** What save and restore report to their user: one line, no stack. */
export class ToolError extends Error {
  override name = 'ToolError';
}

/** `ENOENT` of a node fs error, if it is one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The reason of a failed file operation for a message: node's text carries the errno name. */
export function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** " (last_error: ...)" from a last_error file, to end a message with; nothing if it is empty or unreadable. */
export function lastErrorNote(files: MountFiles, path: string): string {
  try {
    const text = files.read(path).toString('utf8').trim();
    return text === '' ? '' : ` (last_error: ${text})`;
  } catch {
    return '';
  }
}
