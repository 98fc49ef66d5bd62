// The FUSE session on the JS main thread: it answers every request the
// reader threads pass it (lookups, attributes, directories, opens, and the
// reads and writes they do not serve themselves) by calling KvmFs. A
// /dev/fuse reader's request is answered here, on that reader's clone of
// the channel (one thread hand-off); a ring reader's answer goes back to
// the reader, whose io_uring alone can commit it. At OPEN of a shared file
// (run, regs, memory) it gives the file a slot in the OpenTable, whose
// handle tells the readers to serve its reads themselves. It starts the
// readers: /dev/fuse ones at once, and, if INIT settles on FUSE over
// io_uring, ring ones for every CPU.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { errno, FsError, toFsError } from '../errors.js';
import type { SharedFile } from '../node.js';
import { OpenTable, SLOT_HANDLE_BASE } from './open-table.js';
import { SharedVcpu } from '../../backend/shared-vcpu.js';
import { isReleased } from '../../backend/guest-memory.js';
import { isClosed } from '../../backend/vcpu-protocol.js';
import type { KvmFs, Stat } from '../kvmfs.js';
import { BusyPoll } from '../busy-poll.js';
import { cloneChannel, writeReply } from './channel.js';
import { childPath, NodeTable } from './nodes.js';
import {
  attrOut, bodyOf, decodeForgets, decodeHeader, decodeInit, decodeIoIn, decodeSetattr, dirents, DT_DIR, DT_REG, entryOut,
  fattr, FOPEN_DIRECT_IO, initFlags, initFlags2, initOut, IO_IN_SIZE, nameAt, opcode, openOut, reply, statfsOut, writeOut,
  type DirEntry, type InHeader, type NodeAttr,
} from './protocol.js';
import {
  noReaderToSpare, noRingReaderToSpare, pool, queueSlot, ReplyBox, type ReaderMessage, type ReaderSetup, type RingReaderSetup, type Registration,
} from './reader-protocol.js';
import { abandonRings, possibleCpus, whyNoRings } from './uring.js';
import { Listener } from './listener.js';

const S_IFDIR = 0o040000;
/** How long an interrupt whose request is not found waits before the kernel is asked to send it again. */
const INTERRUPT_RETRY_MS = 10;
const NAME_MAX = 255;
/** Names FUSE passed on before it allowed longer ones with max_pages; longer are ENAMETOOLONG, as they were. */
const FUSE_NAME_MAX = 1024;
/** d_ino of a directory entry the kernel has not looked up yet (some tools skip entries with 0) */
const UNKNOWN_INO = 0xffffffff;
/** The largest read or write request: 256 pages, so a 1 MiB dd block is one request. */
const MAX_PAGES = 256;
const MAX_WRITE = MAX_PAGES * 4096;
/** A request is a header, an op's fixed part and at most MAX_WRITE bytes of data. */
const REQUEST_BUFFER_SIZE = MAX_WRITE + 4096;
/**
 * Ring readers each CPU's queue starts with: one to serve, one free while
 * the first is held by a run. (A reader started later takes only requests
 * made after it: the kernel hands a request that is already waiting for an
 * entry only to an entry that commits a reply.)
 */
const RING_READERS_PER_QUEUE = 2;
/** How long every reader of a ring queue may stay held before it gets another. */
const RING_HOLD_GRACE_MS = 20;

export interface SessionOptions {
  debug: boolean;
  /** ms the event loop keeps polling after a request (0: never) */
  busyPollMs: number;
  /** reader threads at the start; one more is started whenever all but one are held by runs */
  readers: number;
  /** --run-timeout, for the runs readers make */
  runTimeoutMs: number;
  /** take requests through FUSE over io_uring when the kernel offers it at INIT */
  ioUring: boolean;
  /** where the session is mounted: a reader started for a stuck ring queue stats it (RingEntry.register) */
  mountPoint: string;
}

/** Where the reply to one request goes: the /dev/fuse clone it was read from, or the ring reader that passed it. */
type Answer = (reply: Uint8Array) => void;

const decoder = new TextDecoder();

export class FuseSession {
  private readonly nodes = new NodeTable();
  private readonly poll: BusyPoll;
  private readonly workers: Worker[] = [];
  private ended: (() => void) | undefined;
  private readonly openTable = new OpenTable();
  /** KvmFs handle of each slot in use */
  private readonly slotHandles = new Map<number, number>();
  private readonly pool = new Int32Array(new SharedArrayBuffer(pool.count * 4));
  private readonly listener = new Listener(this.pool, pool.listener);
  /** the shared objects readers know, by key */
  private readonly registrations = new Map<number, { key: number; shared: SharedFile }>();
  /** key of each shared object, by its shared buffer */
  private readonly keys = new Map<SharedArrayBuffer, number>();
  /** open slots of each key */
  private readonly slotCounts = new Map<number, number>();
  private nextKey = 1;
  private nextReaderId = 1;
  /** per ring queue (by CPU), queueSlot's counts; undefined until INIT settles on FUSE over io_uring */
  private ringQueues: Int32Array | undefined;
  private ringAgreed = false;
  /** a ring reader could not set up its entry: no more are started */
  private ringFailed = false;

  constructor(private readonly fd: number, private readonly fs: KvmFs, private readonly options: SessionOptions) {
    this.poll = new BusyPoll(options.busyPollMs);
  }

  /**
   * Starts the reader threads; resolves once they all run. `onEnd` runs
   * once the kernel ends the session (unmounted).
   */
  async start(onEnd: () => void): Promise<void> {
    this.ended = onEnd;
    const started = Array.from({ length: this.options.readers }, () => this.addReader());
    await Promise.all(started.map((worker) => once(worker, 'online')));
  }

  private addReader(): Worker {
    // Each reader has a clone of the channel, read while it is the listener;
    // a request is answered on the clone it was read from.
    const channel = cloneChannel(this.fd);
    const id = this.nextReaderId++;
    const setup: ReaderSetup = {
      id, fd: channel, bufferSize: REQUEST_BUFFER_SIZE, runTimeoutMs: this.options.runTimeoutMs,
      openTable: this.openTable.buffer, pool: this.pool.buffer as SharedArrayBuffer, registrations: [...this.registrations.values()],
    };
    Atomics.add(this.pool, pool.readers, 1);
    return this.startReader('./reader-worker.js', setup, (bytes) => writeReply(channel, bytes), (message) => {
      switch (message.kind) {
        case 'need-reader':
          if (noReaderToSpare(this.pool)) this.addReader();
          return;
        case 'ended': {
          const end = this.ended;
          this.ended = undefined;
          end?.();
          return;
        }
        case 'ring-unavailable':
          return;
      }
    }, (error) => {
      // A reader that dies (a bug) must not leave the mount with none: start another.
      process.stderr.write(`kvmfs: a reader thread failed (${error.message}); starting another\n`);
      Atomics.sub(this.pool, pool.readers, 1);
      this.listener.release(id);
      if (this.ended) this.addReader();
    });
  }

  /**
   * Starts a reader thread. The requests it passes are answered through
   * `answer`, and the ones it failed are recorded and answered so too;
   * `on` takes everything else it says. `failed` runs if the thread dies.
   */
  private startReader(
    script: string, setup: ReaderSetup | RingReaderSetup, answer: Answer,
    on: (message: Exclude<ReaderMessage, Uint8Array | { kind: 'failed' }>) => void, failed: (error: Error) => void,
  ): Worker {
    const worker = new Worker(new URL(script, import.meta.url), { workerData: setup });
    worker.on('message', (message: ReaderMessage) => {
      this.poll.touch();
      if (message instanceof Uint8Array) return this.serve(message, answer);
      if (message.kind === 'failed') return this.fail(message.request, new FsError(message.errno, message.message), answer);
      return on(message);
    });
    worker.once('error', (error) => {
      this.workers.splice(this.workers.indexOf(worker), 1);
      failed(error);
    });
    this.workers.push(worker);
    return worker;
  }

  /** INIT settled on FUSE over io_uring: every CPU's queue gets its readers, and requests go there once all have. */
  private startRing(): void {
    const cpus = possibleCpus();
    this.ringQueues = new Int32Array(new SharedArrayBuffer((Math.max(...cpus) + 1) * queueSlot.count * 4));
    for (const cpu of cpus) for (let n = 0; n < RING_READERS_PER_QUEUE; n++) this.addRingReader(cpu);
  }

  /** `unstick`: the queue has requests waiting for an entry, which a new entry alone does not get. */
  private addRingReader(qid: number, unstick = false): void {
    if (this.ringFailed) return;
    const queues = this.ringQueues!;
    const queue = queues.subarray(qid * queueSlot.count, (qid + 1) * queueSlot.count);
    const replyBox = ReplyBox.create(REQUEST_BUFFER_SIZE);
    const setup: RingReaderSetup = {
      fd: this.fd, qid, payloadSize: MAX_WRITE, runTimeoutMs: this.options.runTimeoutMs, openTable: this.openTable.buffer,
      pool: this.pool.buffer as SharedArrayBuffer, queues: queues.buffer as SharedArrayBuffer, replyBox: replyBox.buffer,
      registrations: [...this.registrations.values()], poke: unstick ? this.options.mountPoint : undefined,
    };
    Atomics.add(queue, queueSlot.readers, 1);
    const worker = this.startReader('./ring-worker.js', setup, (bytes) => replyBox.deliver(bytes), (message) => {
      switch (message.kind) {
        case 'need-reader':
          return this.considerRingReader(qid, queue);
        case 'ring-unavailable':
          return this.ringUnavailable(message.message, queue, worker);
        case 'ended':
          return;
      }
    }, (error) => {
      // A queue left with no reader would hang every request made on its CPU.
      process.stderr.write(`kvmfs: a ring reader thread failed (${error.message}); starting another\n`);
      Atomics.sub(queue, queueSlot.readers, 1);
      if (this.ended) this.addRingReader(qid);
    });
  }

  /** Until every CPU's queue has an entry the kernel sends everything to /dev/fuse: without rings, the mount goes on there. */
  private ringUnavailable(why: string, queue: Int32Array, worker: Worker): void {
    Atomics.sub(queue, queueSlot.readers, 1);
    this.workers.splice(this.workers.indexOf(worker), 1);
    if (this.ringFailed) return;
    this.ringFailed = true;
    process.stderr.write(`kvmfs: FUSE over io_uring cannot be used here (${why}); requests stay on /dev/fuse\n`);
    try {
      abandonRings(this.fd);
    } catch (error) {
      process.stderr.write(`kvmfs: and the kernel could not be told so (${(error as Error).message}): requests made now may wait forever; remount with --no-io-uring\n`);
    }
  }

  /**
   * A reader of ring queue `qid` started a run with every other one held.
   * Short holds (an exit loop's runs, requests passed to this thread) end
   * and free their entry for the next request soon; a queue is stuck only if
   * no hold ends for a while, and only then does it get another reader (each
   * is a thread and its heap).
   * Until the queue has a reader to spare, it is looked at again every
   * RING_HOLD_GRACE_MS (readers do not ask again meanwhile).
   */
  private considerRingReader(qid: number, queue: Int32Array): void {
    const released = Atomics.load(queue, queueSlot.released);
    setTimeout(() => {
      if (noRingReaderToSpare(queue)) {
        if (Atomics.load(queue, queueSlot.released) !== released) return this.considerRingReader(qid, queue);
        this.addRingReader(qid, true);
      }
      Atomics.store(queue, queueSlot.asked, 0);
    }, RING_HOLD_GRACE_MS);
  }

  /** The key readers know `shared`'s object by; registered with every reader the first time. */
  private register(shared: SharedFile): number {
    const buffer = bufferOf(shared);
    let key = this.keys.get(buffer);
    if (key === undefined) {
      key = this.nextKey++;
      this.keys.set(buffer, key);
      this.registrations.set(key, { key, shared });
      this.tellReaders({ key, shared });
    }
    return key;
  }

  /** Queued before the OPEN reply that names a new key: a reader that meets the key finds it. */
  private tellReaders(registration: Registration): void {
    for (const worker of this.workers) worker.postMessage(registration);
    Atomics.add(this.pool, pool.registry, 1);
  }

  /** Drops `key` once its object is gone (its VM destroyed) and no open file uses it, here and in every reader. */
  private forgetIfGone(key: number): void {
    const registration = this.registrations.get(key);
    if (!registration || (this.slotCounts.get(key) ?? 0) > 0) return;
    const { shared } = registration;
    if (!(shared.kind === 'memory' ? isReleased(shared.memory) : isClosed(shared.vcpu))) return;
    this.registrations.delete(key);
    this.keys.delete(bufferOf(shared));
    this.slotCounts.delete(key);
    this.tellReaders({ key });
  }

  /** OPEN: a shared file gets a slot, so readers serve it; a run cannot do without one. */
  private handleFor(handle: number): number {
    const shared = this.fs.sharedOf(handle);
    if (!shared) return handle;
    const key = this.register(shared);
    const slot = this.openTable.allocate(shared.kind, key);
    if (slot === undefined) {
      if (shared.kind !== 'run') return handle;
      this.fs.release(handle);
      throw new FsError(errno.ENFILE, 'too many open run, regs and memory files in this mount');
    }
    this.slotHandles.set(slot, handle);
    this.slotCounts.set(key, (this.slotCounts.get(key) ?? 0) + 1);
    return SLOT_HANDLE_BASE + slot;
  }

  /** The KvmFs handle of a FUSE file handle. */
  private handleOf(fh: number): number {
    return fh >= SLOT_HANDLE_BASE ? (this.slotHandles.get(fh - SLOT_HANDLE_BASE) ?? 0) : fh;
  }

  /**
   * FUSE_INTERRUPT: the process reading `run` got a signal (Ctrl-C): stop
   * the vcpu, and the read returns `intr`. Any other request ends soon by
   * itself. Not found yet (the reader has not marked its run): EAGAIN after
   * a while, and the kernel sends the interrupt again while the read lasts.
   */
  private interrupt(header: InHeader, body: Uint8Array, answer: Answer): void {
    const target = new DataView(body.buffer, body.byteOffset, body.byteLength).getBigUint64(0, true);
    const slot = this.openTable.findRun(target);
    if (slot === undefined) {
      setTimeout(() => answer(reply(header.unique, errno.EAGAIN)), INTERRUPT_RETRY_MS);
      return;
    }
    const registration = this.registrations.get(this.openTable.key(slot));
    if (registration && registration.shared.kind !== 'memory') new SharedVcpu(registration.shared.vcpu).stop();
  }

  /** A request a reader served and that failed: recorded in last_error, then answered with its errno. */
  private fail(request: Uint8Array, failure: FsError, answer: Answer): void {
    const header = decodeHeader(request);
    const path = this.nodes.path(header.nodeId);
    if (path !== undefined) this.fs.recordFailure(path, failure);
    answer(reply(header.unique, failure.errno));
  }

  private serve(request: Uint8Array, answer: Answer): void {
    const header = decodeHeader(request);
    const body = bodyOf(request);
    if (this.options.debug) process.stderr.write(`kvmfs: op ${header.opcode} node ${header.nodeId} unique ${header.unique}\n`);
    if (header.opcode === opcode.FORGET || header.opcode === opcode.BATCH_FORGET) {
      for (const { nodeId, lookups } of decodeForgets(header, body)) this.nodes.forget(nodeId, lookups);
      return;
    }
    if (header.opcode === opcode.INTERRUPT) return this.interrupt(header, body, answer);
    Promise.resolve()
      .then(() => this.answer(header, body))
      .then(
        (payload) => {
          answer(reply(header.unique, 0, payload));
          // Ring commands fail until the kernel has the INIT reply.
          if (header.opcode === opcode.INIT && this.ringAgreed && !this.ringQueues) this.startRing();
        },
        (error) => answer(reply(header.unique, toFsError(error).errno)),
      );
  }

  /** The reply payload of one request; throws (an errno) to fail it. */
  private async answer(header: InHeader, body: Uint8Array): Promise<Uint8Array | undefined> {
    const fs = this.fs;
    switch (header.opcode) {
      case opcode.INIT: {
        const init = decodeInit(body);
        const flags = init.flags & (initFlags.ASYNC_READ | initFlags.BIG_WRITES | initFlags.MAX_PAGES);
        // The kernel offers io_uring only where it is enabled (fuse's enable_uring).
        // Once agreed, the kernel holds requests until every CPU's queue has an entry: agree only if rings can be had.
        if (this.options.ioUring && init.flags2 & initFlags2.OVER_IO_URING && whyNoRings() === undefined) {
          this.ringAgreed = true;
          return initOut(flags | initFlags.INIT_EXT, MAX_WRITE, MAX_PAGES, initFlags2.OVER_IO_URING);
        }
        return initOut(flags, MAX_WRITE, MAX_PAGES);
      }
      case opcode.LOOKUP: {
        const path = childPath(this.pathOf(header), nameOf(body));
        const stat = fs.getattr(path);
        return entryOut(this.attr(this.nodes.lookup(path), stat));
      }
      case opcode.GETATTR: {
        const path = this.pathOf(header);
        return attrOut(this.attr(header.nodeId, fs.getattr(path)));
      }
      case opcode.SETATTR: {
        const path = this.pathOf(header);
        const set = decodeSetattr(body);
        await fs.guard(path, () => {
          if (set.valid & fattr.MODE) fs.chmod(path, set.mode);
          if (set.valid & (fattr.UID | fattr.GID)) {
            fs.chown(path, set.valid & fattr.UID ? set.uid : -1, set.valid & fattr.GID ? set.gid : -1);
          }
          if (set.valid & fattr.SIZE) fs.truncate(path, set.size);
        });
        return attrOut(this.attr(header.nodeId, fs.getattr(path)));
      }
      case opcode.MKDIR: {
        const path = childPath(this.pathOf(header), nameOf(body, 8));
        await fs.guard(path, () => fs.mkdir(path));
        return entryOut(this.attr(this.nodes.lookup(path), fs.getattr(path)));
      }
      case opcode.RMDIR: {
        const path = childPath(this.pathOf(header), nameOf(body));
        await fs.guard(path, () => fs.rmdir(path));
        for (const key of [...this.registrations.keys()]) this.forgetIfGone(key);
        return undefined;
      }
      case opcode.UNLINK:
      case opcode.SYMLINK:
        return this.deny(header, nameOf(body));
      case opcode.MKNOD:
      case opcode.CREATE:
        return this.deny(header, nameOf(body, 16));
      case opcode.RENAME:
      case opcode.LINK:
        return this.deny(header, nameOf(body, 8));
      case opcode.RENAME2:
        return this.deny(header, nameOf(body, 16));
      case opcode.OPEN: {
        const path = this.pathOf(header);
        const flags = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0, true);
        const handle = await fs.guard(path, () => this.handleFor(fs.open(path, flags)));
        return openOut(handle, FOPEN_DIRECT_IO);
      }
      case opcode.READ: {
        const path = this.pathOf(header);
        const io = decodeIoIn(body);
        const target = Buffer.alloc(io.size);
        const count = await fs.guard(path, () => fs.read(this.handleOf(io.fh), target, io.offset));
        return target.subarray(0, count);
      }
      case opcode.WRITE: {
        const path = this.pathOf(header);
        const io = decodeIoIn(body);
        const data = Buffer.from(body.buffer, body.byteOffset + IO_IN_SIZE, io.size);
        return writeOut(await fs.guard(path, () => fs.write(this.handleOf(io.fh), data, io.offset)));
      }
      case opcode.RELEASE: {
        const { fh } = decodeIoIn(body);
        fs.release(this.handleOf(fh));
        if (fh >= SLOT_HANDLE_BASE) {
          const slot = fh - SLOT_HANDLE_BASE;
          const key = this.openTable.key(slot);
          this.slotHandles.delete(slot);
          this.openTable.release(slot);
          this.slotCounts.set(key, (this.slotCounts.get(key) ?? 1) - 1);
          this.forgetIfGone(key);
        }
        return undefined;
      }
      case opcode.OPENDIR:
        fs.readdir(this.pathOf(header));
        return openOut(0, 0);
      case opcode.READDIR: {
        const io = decodeIoIn(body);
        return dirents(this.listing(this.pathOf(header)), io.offset, io.size);
      }
      case opcode.STATFS:
        return statfsOut(NAME_MAX);
      case opcode.FLUSH:
      case opcode.FSYNC:
      case opcode.FSYNCDIR:
      case opcode.RELEASEDIR:
      case opcode.DESTROY:
        return undefined;
      default:
        // ACCESS (the kernel checks modes itself: default_permissions), xattrs,
        // locks, ...: ENOSYS, and the kernel stops asking.
        throw new FsError(errno.ENOSYS, 'not implemented');
    }
  }

  /** Creating, removing, renaming or linking a plain file: EPERM, recorded in last_error. */
  private async deny(header: InHeader, name: string): Promise<undefined> {
    const path = childPath(this.pathOf(header), name);
    await this.fs.guard(path, () => this.fs.deny(path));
    return undefined;
  }

  private listing(path: string): DirEntry[] {
    const entry = (name: string, entryPath: string): DirEntry => ({
      ino: this.nodes.peek(entryPath) ?? UNKNOWN_INO,
      name: Buffer.from(name),
      type: this.fs.getattr(entryPath).mode & S_IFDIR ? DT_DIR : DT_REG,
    });
    const parent = path === '/' ? '/' : path.slice(0, path.lastIndexOf('/')) || '/';
    return [
      { ino: this.nodes.peek(path) ?? UNKNOWN_INO, name: Buffer.from('.'), type: DT_DIR },
      { ino: this.nodes.peek(parent) ?? UNKNOWN_INO, name: Buffer.from('..'), type: DT_DIR },
      ...this.fs.readdir(path).map((name) => entry(name, childPath(path, name))),
    ];
  }

  private pathOf(header: InHeader): string {
    const path = this.nodes.path(header.nodeId);
    if (path === undefined) throw new FsError(errno.ENOENT, 'stale node');
    return path;
  }

  private attr(ino: number, stat: Stat): NodeAttr {
    return { ino, size: stat.size, mode: stat.mode, nlink: stat.nlink, uid: stat.uid, gid: stat.gid, mtime: stat.mtime, ctime: stat.ctime };
  }
}

/** The name at `offset` of a request body. */
function nameOf(body: Uint8Array, offset = 0): string {
  const name = nameAt(body, offset);
  if (name.length > FUSE_NAME_MAX) throw new FsError(errno.ENAMETOOLONG, 'name too long');
  return decoder.decode(name);
}

/** The shared buffer that identifies the object a shared file is on. */
function bufferOf(shared: SharedFile): SharedArrayBuffer {
  return shared.kind === 'memory' ? shared.memory.table : shared.vcpu.control;
}
