// The FUSE layer alone, with no KVM: a FuseSession (from dist, as the
// daemon runs it) serving a small file system in this process, over
// /dev/fuse alone and over FUSE over io_uring where the kernel has it. Its
// files are served off the main thread by a module of its own
// (fixtures/blocking-files.mjs), as kvmfs's are by src/fs/files/off-thread.ts:
// a read that lasts holds a reader, another reader takes the next requests,
// FUSE_INTERRUPT (a signal to the reader) reaches the file, and a failure on a
// reader thread reaches the file system's record of failures.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Filesystem } from '../../src/fs/fuse/filesystem.js';
import type { OffThread, PseudoFile, Stat } from '../../src/fs/node.js';

const run = promisify(execFile);
const dist = (path: string) => import(pathToFileURL(resolve('dist', path)).href);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const FIXTURE = pathToFileURL(resolve('test/e2e/fixtures/blocking-files.mjs')).href;
const ENOENT = 2;
const EISDIR = 21;

/** A root directory of files, some served off the main thread. */
class SmallFs implements Filesystem {
  /** [reads of block files in progress, then the interrupts each block file got] */
  readonly cell = new Int32Array(new SharedArrayBuffer(16));
  readonly failures: string[] = [];
  private readonly opened = new Map<number, { file: PseudoFile; snapshot: { store(c: Uint8Array): void; copy(o: number, t: Uint8Array): number | undefined } }>();
  private next = 1;
  private readonly files: Record<string, PseudoFile>;

  constructor(private readonly openFile: { LocalSnapshot: new () => never; readOpenFile: Function; writeOpenFile: Function }, errorClass: new (errno: number, message: string) => Error) {
    const attr = { mode: 0o644, uid: 0, gid: 0, ctime: new Date(), mtime: new Date() };
    const offThread = (factory: string, share: unknown): OffThread => ({ factory, share, gone: () => false });
    this.files = {
      ...Object.fromEntries([0, 1, 2].map((index) => [`block${index}`, {
        kind: 'snapshot', attr, offThread: offThread('block', { cell: this.cell.buffer, index }), read: () => 'never here\n',
        interrupt: () => { Atomics.add(this.cell, 1 + index, 1); Atomics.notify(this.cell, 1 + index); },
      } satisfies PseudoFile])),
      where: { kind: 'snapshot', attr, offThread: offThread('where', {}), read: () => 'main\n' },
      fail: { kind: 'snapshot', attr, offThread: offThread('fail', {}), read: () => 'main\n' },
      plain: { kind: 'snapshot', attr, read: () => 'on the main thread\n' },
    };
    this.error = (errno, message) => new errorClass(errno, message);
  }

  private readonly error: (errno: number, message: string) => Error;

  async guard<T>(path: string, operation: () => T | Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      this.failures.push(`${path}: ${(error as Error).message}`);
      throw error;
    }
  }
  recordFailure(path: string, failure: { message: string }): void { this.failures.push(`${path}: ${failure.message}`); }
  getattr(path: string): Stat {
    const now = new Date();
    if (path === '/') return { mode: 0o040755, uid: 0, gid: 0, size: 0, nlink: 2, atime: now, mtime: now, ctime: now };
    if (!this.files[path.slice(1)]) throw this.error(ENOENT, 'no such file');
    return { mode: 0o100644, uid: 0, gid: 0, size: 0, nlink: 1, atime: now, mtime: now, ctime: now };
  }
  readdir(): string[] { return Object.keys(this.files); }
  async mkdir(): Promise<void> { throw this.error(1, 'no'); }
  async rmdir(): Promise<void> { throw this.error(1, 'no'); }
  chmod(): void {}
  chown(): void {}
  truncate(): void {}
  deny(): never { throw this.error(1, 'no'); }
  open(path: string): number {
    const file = this.files[path.slice(1)];
    if (!file) throw this.error(EISDIR, 'not a file');
    this.opened.set(this.next, { file, snapshot: new this.openFile.LocalSnapshot() });
    return this.next++;
  }
  async read(handle: number, target: Buffer, offset: number): Promise<number> {
    const { file, snapshot } = this.opened.get(handle)!;
    return this.openFile.readOpenFile(file, snapshot, offset, target);
  }
  async write(): Promise<number> { throw this.error(13, 'read-only'); }
  release(handle: number): void { this.opened.delete(handle); }
  offThreadOf(handle: number) {
    const { file } = this.opened.get(handle)!;
    return file.offThread ? { offThread: file.offThread, required: file.kind === 'snapshot' && file.interrupt !== undefined } : undefined;
  }
  interrupt(handle: number): void {
    const file = this.opened.get(handle)?.file;
    if (file?.kind === 'snapshot') file.interrupt?.();
  }
}

/** Whether FUSE over io_uring can be had here (the daemon's own check; it turns the fuse module's switch on as root). */
const uringOn: boolean = (await dist('cli/platform.js')).enableFuseUring();
if (!uringOn) console.warn('fuse-layer.test.ts: FUSE over io_uring is not available here (kernel before 6.14, or built without it): its cases are SKIPPED');

describe.each([
  ['/dev/fuse alone', false],
  ['FUSE over io_uring', true],
].filter(([, ioUring]) => !ioUring || uringOn))('the FUSE layer over %s', (_, ioUring) => {
  const dir = mkdtempSync(join(tmpdir(), 'kvmfs-fuse-layer-'));
  let fs: SmallFs;
  let unmount: () => void;

  beforeAll(async () => {
    if (!existsSync('/dev/fuse')) throw new Error('NO /dev/fuse ON THIS MACHINE: the FUSE layer cannot be tested');
    const [{ FuseSession }, { mountChannel }, { bundledLibfusePath }, openFile, { FsError }, { umount2, MNT_DETACH }] = await Promise.all([
      dist('fs/fuse/session.js'), dist('fs/fuse/kernel-mount.js'), dist('sys/libfuse.js'), dist('fs/open-file.js'), dist('fs/errors.js'), dist('sys/libc.js'),
    ]);
    fs = new SmallFs(openFile, FsError);
    const fd = mountChannel(bundledLibfusePath(), dir, ['default_permissions', 'fsname=kvmfs-test', 'subtype=kvmfs']);
    const session = new FuseSession(fd, fs, { debug: false, busyPollMs: 0, readers: 2, ioUring, mountPoint: dir, offThreadModule: FIXTURE });
    await session.start(() => {});
    unmount = () => umount2(dir, MNT_DETACH);
    // with io_uring, ring readers start after INIT: wait until one serves
    for (let i = 0; i < 50 && !(await run('cat', [`${dir}/where`])).stdout.startsWith('thread'); i++) await sleep(100);
  });
  afterAll(() => unmount?.());

  it('a file served off the main thread is read on a reader thread; the others on the main thread', async () => {
    expect((await run('cat', [`${dir}/where`])).stdout).toMatch(/^thread [1-9]\d*\n$/);
    expect((await run('cat', [`${dir}/plain`])).stdout).toBe('on the main thread\n');
    expect((await run('ls', [dir])).stdout).toBe('block0\nblock1\nblock2\nfail\nplain\nwhere\n');
  });

  it('reads that last hold their readers; the rest of the tree still answers; a signal to a reader interrupts its read', async () => {
    const readers = [0, 1, 2].map((index) => run('timeout', ['-s', 'INT', '3', 'cat', `${dir}/block${index}`]).catch((error: { code: number }) => error.code));
    for (let i = 0; i < 100 && Atomics.load(fs.cell, 0) < 3; i++) await sleep(50);
    expect(Atomics.load(fs.cell, 0)).toBe(3);
    // three reads held, and still the main thread and a reader answer
    expect((await run('cat', [`${dir}/plain`, `${dir}/where`])).stdout).toMatch(/^on the main thread\nthread \d+\n$/);
    // SIGINT to each cat: FUSE_INTERRUPT reaches the file, which ends the read
    expect(await Promise.all(readers)).toEqual([124, 124, 124]);
    for (let i = 0; i < 100 && Atomics.load(fs.cell, 0) > 0; i++) await sleep(50);
    expect(Atomics.load(fs.cell, 0)).toBe(0);
    expect([1, 2, 3].map((index) => Atomics.load(fs.cell, index) > 0)).toEqual([true, true, true]);
  });

  it('a failure on a reader thread is recorded by the file system, with its path, and answered with its errno', async () => {
    const result = await run('cat', [`${dir}/fail`]).catch((error: { stderr: string }) => error.stderr);
    expect(result).toContain('Device or resource busy');
    expect(fs.failures).toContain('/fail: busy on a reader thread');
  });

  it('a failure on the main thread is recorded and answered with its errno', async () => {
    const result = await run('mkdir', [`${dir}/new`]).catch((error: { stderr: string }) => error.stderr);
    expect(result).toContain('Operation not permitted');
    expect(fs.failures).toContain('/new: no');
  });
});

describe.each([
  ['/dev/fuse alone', false],
  ['FUSE over io_uring', true],
].filter(([, ioUring]) => !ioUring || uringOn))('closing a session over %s (daemon shutdown)', (_, ioUring) => {
  it('ends every request in flight, lets every reader thread go, and leaves a dead mount to detach', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvmfs-fuse-layer-'));
    const [{ FuseSession }, { mountChannel }, { bundledLibfusePath }, openFile, { FsError }, { umount2, MNT_DETACH }] = await Promise.all([
      dist('fs/fuse/session.js'), dist('fs/fuse/kernel-mount.js'), dist('sys/libfuse.js'), dist('fs/open-file.js'), dist('fs/errors.js'), dist('sys/libc.js'),
    ]);
    const fs = new SmallFs(openFile, FsError);
    const fd = mountChannel(bundledLibfusePath(), dir, ['default_permissions', 'fsname=kvmfs-test', 'subtype=kvmfs']);
    const session = new FuseSession(fd, fs, { debug: false, busyPollMs: 0, readers: 2, ioUring, mountPoint: dir, offThreadModule: FIXTURE });
    await session.start(() => {});
    try {
      for (let i = 0; i < 50 && !(await run('cat', [`${dir}/where`])).stdout.startsWith('thread'); i++) await sleep(100);
      // three reads that last, and a loop of short ones, in flight
      const clients = [
        ...[0, 1, 2].map((index) => run('cat', [`${dir}/block${index}`])),
        run('sh', ['-c', `while cat "${dir}/where" "${dir}/plain" > /dev/null; do :; done`]),
      ].map((client) => client.then(() => 'ended', (error: { stderr: string }) => error.stderr || 'ended'));
      // (a request may still wait for a reader: it is in flight too)
      for (let i = 0; i < 100 && Atomics.load(fs.cell, 0) < 3; i++) await sleep(50);
      expect(Atomics.load(fs.cell, 0)).toBeGreaterThan(0);
      const started = Date.now();
      const WAIT_MS = 5000;
      await session.close(WAIT_MS);
      const closeMs = Date.now() - started;
      const ends = await Promise.race([Promise.all(clients), sleep(WAIT_MS).then(() => 'clients still blocked')]);
      console.log(`close over ${ioUring ? 'io_uring' : '/dev/fuse'}: readers gone after ${closeMs} ms; clients: ${JSON.stringify(ends)}`);
      // every reader left by itself (close did not have to give up on one), and no client hangs
      expect(closeMs).toBeLessThan(WAIT_MS);
      expect(ends).toHaveLength(4);
      expect(Atomics.load(fs.cell, 0)).toBe(0);
      expect((await run('ls', [dir]).catch((error: { stderr: string }) => error.stderr))).toMatch(/not connected|connection abort/i);
    } finally {
      umount2(dir, MNT_DETACH);
    }
  });
});
