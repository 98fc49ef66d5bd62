// The only module that touches fuse-native: it mounts a KvmFs and turns
// each FUSE callback into a KvmFs call, and each thrown error into the
// negative errno fuse-native expects.
import { createRequire } from 'node:module';
import { toFsError } from './errors.js';
import type { KvmFs, Stat } from './kvmfs.js';
import { BusyPoll } from './busy-poll.js';

const require = createRequire(import.meta.url);

export interface FuseMountOptions {
  debug: boolean;
  allowOther: boolean;
  /** ms the event loop keeps polling after an operation (0: never) */
  busyPollMs: number;
}

type Callback = (result: number, ...values: unknown[]) => void;

interface FuseInstance {
  mount(cb: (error: Error | null) => void): void;
  _fuseOptions(): string;
}

/**
 * Options fuse-native has no switch for. direct_io: pseudo files have no
 * fixed size and must never be served from the page cache. big_writes: a
 * write(2) up to 128 KiB arrives as one FUSE write, so it is one change.
 * Zero timeouts: sizes (memory, dirty_log) and VM directories change behind
 * the kernel's back. default_permissions: the kernel checks mode bits.
 */
const EXTRA_OPTIONS = ['direct_io', 'big_writes', 'attr_timeout=0', 'entry_timeout=0', 'negative_timeout=0', 'default_permissions', 'fsname=kvmfs', 'subtype=kvmfs'];

export async function mountFuse(mountPoint: string, fs: KvmFs, options: FuseMountOptions): Promise<void> {
  const Fuse = require('fuse-native');
  const poll = new BusyPoll(options.busyPollMs);
  const fuse: FuseInstance = new Fuse(mountPoint, operations(fs, () => poll.touch()), {
    debug: options.debug,
    allowOther: options.allowOther,
    timeout: false, // a `run` read may legitimately block for as long as the guest runs
  });
  const defaults = fuse._fuseOptions.bind(fuse);
  fuse._fuseOptions = () => {
    const base = defaults();
    return base ? `${base},${EXTRA_OPTIONS.join(',')}` : `-o${EXTRA_OPTIONS.join(',')}`;
  };
  await new Promise<void>((resolve, reject) => fuse.mount((error) => (error ? reject(error) : resolve())));
}

/** Answers `cb` with the operation's values, or with -errno. */
function answer<T>(cb: Callback, operation: () => T | Promise<T>, toValues: (value: T) => unknown[]): void {
  Promise.resolve()
    .then(operation)
    .then(
      (value) => cb(0, ...toValues(value)),
      (error) => cb(-toFsError(error).errno),
    );
}

/** For read and write, whose callback takes the byte count or -errno. */
function answerCount(cb: (count: number) => void, operation: () => Promise<number>): void {
  operation().then(cb, (error) => cb(-toFsError(error).errno));
}

const none = (): unknown[] => [];

function operations(fs: KvmFs, touch: () => void): Record<string, unknown> {
  /** create, mknod, unlink, rename: the path is the first argument; link, symlink: the new name is the second. */
  const denied = (pathArgument: number) => (...args: unknown[]) => {
    const cb = args[args.length - 1] as Callback;
    const path = args[pathArgument] as string;
    answer(cb, () => fs.guard(path, () => fs.deny(path)), none);
  };
  const ops: Record<string, (...args: never[]) => void> = {
    getattr: (path: string, cb: Callback) => answer(cb, () => fs.getattr(path), (stat: Stat) => [stat]),
    fgetattr: (path: string, _fd: number, cb: Callback) => answer(cb, () => fs.getattr(path), (stat: Stat) => [stat]),
    readdir: (path: string, cb: Callback) => answer(cb, () => fs.readdir(path), (names) => [names]),
    open: (path: string, flags: number, cb: Callback) => answer(cb, () => fs.guard(path, () => fs.open(path, flags)), (handle) => [handle]),
    release: (_path: string, handle: number, cb: Callback) => answer(cb, () => fs.release(handle), none),
    read: (path: string, handle: number, buffer: Buffer, length: number, position: number, cb: (count: number) => void) =>
      answerCount(cb, () => fs.guard(path, () => fs.read(handle, buffer.subarray(0, length), position))),
    write: (path: string, handle: number, buffer: Buffer, length: number, position: number, cb: (count: number) => void) =>
      answerCount(cb, () => fs.guard(path, () => fs.write(handle, buffer.subarray(0, length), position))),
    truncate: (path: string, size: number, cb: Callback) => answer(cb, () => fs.guard(path, () => fs.truncate(path, size)), none),
    ftruncate: (path: string, _fd: number, size: number, cb: Callback) => answer(cb, () => fs.guard(path, () => fs.truncate(path, size)), none),
    mkdir: (path: string, _mode: number, cb: Callback) => answer(cb, () => fs.guard(path, () => fs.mkdir(path)), none),
    rmdir: (path: string, cb: Callback) => answer(cb, () => fs.guard(path, () => fs.rmdir(path)), none),
    chmod: (path: string, mode: number, cb: Callback) => answer(cb, () => fs.guard(path, () => fs.chmod(path, mode)), none),
    chown: (path: string, uid: number, gid: number, cb: Callback) => answer(cb, () => fs.guard(path, () => fs.chown(path, uid, gid)), none),
    // touch(1) on an existing file: accepted, times are not kept
    utimens: (path: string, _atime: number, _mtime: number, cb: Callback) => answer(cb, () => fs.getattr(path), none),
    create: denied(0),
    mknod: denied(0),
    unlink: denied(0),
    rename: denied(0),
    link: denied(1),
    symlink: denied(1),
  };
  return Object.fromEntries(Object.entries(ops).map(([name, op]) => [name, (...args: never[]) => {
    touch();
    op(...args);
  }]));
}
