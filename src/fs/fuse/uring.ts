// FUSE over io_uring (Linux 6.14+, fs/fuse/dev_uring.c), the binding's
// second way to take requests. The kernel keeps one ring queue per CPU and
// puts each request on the queue of the CPU its caller runs on; a request
// goes to the entry of that queue that was offered last. A reader thread
// pinned to that CPU owns an entry: it is woken on the caller's CPU, serves
// the request there, and one io_uring_enter commits the reply and waits for
// the next. (Read from /dev/fuse, every request woke a thread wherever it
// slept, and the reply woke the caller across CPUs: on these nested
// machines each such wake-up costs more than a guest exit.)
//
// Each RingEntry is an io_uring of its own (SQE128, single issuer, task work
// deferred to io_uring_enter, so a reader in KVM_RUN is never disturbed by
// it) with one FUSE ring entry: a header buffer (struct
// fuse_uring_req_header) and a payload buffer. Like channel.ts, this is
// binding code: it and kernel-mount.ts are the only code under src/fs that
// calls into native code.
import {
  close, errno, koffi, lastErrno, MAP_ANONYMOUS, MAP_FAILED, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, mmap, munmap, PROT_READ, PROT_WRITE,
  syscallWith, SysError,
} from '../../sys/libc.js';
import { cpuMask } from './cpus.js';
import { FUSE_IO_URING_CMD_COMMIT_AND_FETCH, FUSE_IO_URING_CMD_REGISTER, ringHeader, TIMED_OUT } from './ring-abi.js';

const { EINTR, EAGAIN, EBUSY, ETIME } = errno;

const SYS_IO_URING_SETUP = 425;
const SYS_IO_URING_ENTER = 426;
const SYS_IO_URING_REGISTER = 427;
// syscall(2) is variadic: one fixed-arity declaration per use
const ioUringSetup = syscallWith('uint32_t entries, _Inout_ void *params');
const ioUringEnter = syscallWith('int fd, uint32_t toSubmit, uint32_t minComplete, uint32_t flags, void *sig, size_t sigSize');
const ioUringRegister = syscallWith('int fd, uint32_t opcode, const void *arg, uint32_t count');

const PROT_READ_WRITE = PROT_READ | PROT_WRITE;
const MAP_PRIVATE_ANONYMOUS = MAP_PRIVATE | MAP_ANONYMOUS;
const IORING_SETUP_SQE128 = 1 << 10;
const IORING_SETUP_SINGLE_ISSUER = 1 << 12;
const IORING_SETUP_DEFER_TASKRUN = 1 << 13;
const IORING_FEAT_SINGLE_MMAP = 1 << 0;
const IORING_OFF_SQES = 0x10000000;
const IORING_ENTER_GETEVENTS = 1;
const IORING_ENTER_EXT_ARG = 1 << 3;
const IORING_OP_URING_CMD = 46;
const IORING_OP_STATX = 21;
const IORING_REGISTER_IOWQ_AFF = 17;
const AT_FDCWD = -100;
const AT_STATX_FORCE_SYNC = 0x2000;
const STATX_BASIC_STATS = 0x7ff;
/** user_data of the entry's commands, and of a poke's statx */
const ENTRY_COMMAND = 1n;
const POKE = 2n;
const SQE_SIZE = 128;
const CQE_SIZE = 16;
/** struct io_uring_params: 40 bytes, then io_sqring_offsets and io_cqring_offsets (40 each) */
const PARAMS_SIZE = 120;
const SQ_OFF = 40;
const CQ_OFF = 80;
/** Where the two iovecs (header, payload) a REGISTER points at live, in the header's page; then a poke's path and its statx buffer */
const IOVEC_AT = 512;
const POKE_PATH_AT = 1024;
const POKE_PATH_MAX = 2048;
const STATX_AT = 3072;
/** struct io_uring_getevents_arg for a wait with a limit (IORING_ENTER_EXT_ARG), then its __kernel_timespec */
const WAIT_ARG_AT = 3584;
const WAIT_ARG_SIZE = 24;
const WAIT_TIMESPEC_AT = WAIT_ARG_AT + WAIT_ARG_SIZE;
const HEADER_MAPPING = 4096;

/** io_uring_params asking for what FUSE rings need: 128-byte SQEs, one submitting thread, task work run only in io_uring_enter. */
function ringParams(): Buffer {
  const params = Buffer.alloc(PARAMS_SIZE);
  params.writeUInt32LE(IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, 8);
  return params;
}

function mapOrThrow(call: string, length: number, flags: number, fd: number, offset: number): bigint {
  const pointer = mmap(null, length, PROT_READ_WRITE, flags, fd, offset) as bigint;
  if (pointer === MAP_FAILED) throw new SysError(call, lastErrno());
  return pointer;
}

/**
 * One FUSE ring entry on queue `qid`, with the io_uring that carries it.
 * Only the thread that opened it may use it (IORING_SETUP_SINGLE_ISSUER).
 */
export class RingEntry {
  /** the request's headers, then the reply's (ringHeader) */
  readonly header: Uint8Array;
  /** the request's data (a write's), then the reply's (a read's) */
  readonly payload: Uint8Array;
  private readonly ring: Uint32Array;
  private readonly sqes: DataView;
  private readonly sq: { head: number; tail: number; mask: number };
  private readonly cq: { head: number; tail: number; mask: number; cqes: number };
  private readonly cqes: DataView;
  private readonly mappings: [bigint, number][] = [];
  private readonly iovecs: bigint;
  private readonly headerPointer: bigint;
  /** the getevents argument of a wait with a limit; undefined: waits have none */
  private waitArgument?: Uint8Array;

  private constructor(private readonly ringFd: number, private readonly fuseFd: number, private readonly qid: number, params: DataView, payloadSize: number) {
    const u32 = (at: number) => params.getUint32(at, true);
    const sqEntries = u32(0);
    const cqEntries = u32(4);
    if (!(u32(20) & IORING_FEAT_SINGLE_MMAP)) throw new SysError(errno.EOPNOTSUPP, 'io_uring_setup: the kernel has no IORING_FEAT_SINGLE_MMAP');
    const ringSize = Math.max(u32(SQ_OFF + 24) + sqEntries * 4, u32(CQ_OFF + 20) + cqEntries * CQE_SIZE);
    const ringPointer = this.map('mmap io_uring', ringSize, MAP_SHARED | MAP_POPULATE, ringFd, 0);
    const sqePointer = this.map('mmap io_uring SQEs', sqEntries * SQE_SIZE, MAP_SHARED | MAP_POPULATE, ringFd, IORING_OFF_SQES);
    const headerPointer = this.map('mmap ring header', HEADER_MAPPING, MAP_PRIVATE_ANONYMOUS, -1, 0);
    const payloadPointer = this.map('mmap ring payload', payloadSize, MAP_PRIVATE_ANONYMOUS, -1, 0);
    const ringBuffer = koffi.view(ringPointer, ringSize);
    this.ring = new Uint32Array(ringBuffer);
    this.sq = { head: u32(SQ_OFF) / 4, tail: u32(SQ_OFF + 4) / 4, mask: this.ring[u32(SQ_OFF + 8) / 4]! };
    this.cq = { head: u32(CQ_OFF) / 4, tail: u32(CQ_OFF + 4) / 4, mask: this.ring[u32(CQ_OFF + 8) / 4]!, cqes: u32(CQ_OFF + 20) };
    this.cqes = new DataView(ringBuffer);
    // The SQ index array maps each slot to the SQE of the same index, once and for all.
    const array = u32(SQ_OFF + 24) / 4;
    for (let index = 0; index < sqEntries; index++) this.ring[array + index] = index;
    this.sqes = new DataView(koffi.view(sqePointer, sqEntries * SQE_SIZE));
    const headerPage = new Uint8Array(koffi.view(headerPointer, HEADER_MAPPING));
    this.header = headerPage.subarray(0, ringHeader.size);
    this.payload = new Uint8Array(koffi.view(payloadPointer, payloadSize));
    const iovecs = new DataView(headerPage.buffer, IOVEC_AT, 32);
    iovecs.setBigUint64(0, headerPointer, true);
    iovecs.setBigUint64(8, BigInt(ringHeader.size), true);
    iovecs.setBigUint64(16, payloadPointer, true);
    iovecs.setBigUint64(24, BigInt(payloadSize), true);
    this.iovecs = headerPointer + BigInt(IOVEC_AT);
    this.headerPointer = headerPointer;
  }

  /** A new io_uring for one entry of queue `qid` of the FUSE connection of `fuseFd`; `payloadSize` must be at least the mount's max_write. */
  static open(fuseFd: number, qid: number, payloadSize: number): RingEntry {
    const params = ringParams();
    const ringFd = Number(ioUringSetup(SYS_IO_URING_SETUP, 2, params));
    if (ringFd < 0) throw new SysError('io_uring_setup', lastErrno());
    try {
      return new RingEntry(ringFd, fuseFd, qid, new DataView(params.buffer, params.byteOffset, PARAMS_SIZE), payloadSize);
    } catch (error) {
      close(ringFd);
      throw error;
    }
  }

  /**
   * Offers the entry to the kernel and waits for its first request: 0, or a
   * negative errno (ENOTCONN: unmounted; EAGAIN: not initialized yet).
   *
   * With `poke`, a path on the mount, it also stats that path from this
   * entry's CPU (an io-wq worker bound there). The kernel gives an entry
   * that registers only requests made after it; one that waited for an
   * entry before is handed out only when an entry of its queue commits a
   * reply. The stat is such a request, and its reply such a commit.
   */
  register(poke?: string): number {
    return this.submitAndWait(FUSE_IO_URING_CMD_REGISTER, 0n, poke);
  }

  /**
   * Offers an entry the kernel must refuse (a header buffer of 0 bytes).
   * A failed REGISTER is how the kernel learns that this server will not
   * serve rings after all: it then sends every request to /dev/fuse again,
   * where until every CPU's queue had an entry it would have held them.
   */
  registerRefused(): number {
    new DataView(this.header.buffer, IOVEC_AT + 8, 8).setBigUint64(0, 0n, true);
    return this.register();
  }

  /** Commits the reply in `header` and `payload` to request `unique`, and waits for the next request: 0, or a negative errno. */
  commitAndFetch(unique: bigint): number {
    return this.submitAndWait(FUSE_IO_URING_CMD_COMMIT_AND_FETCH, unique);
  }

  close(): void {
    for (const [pointer, length] of this.mappings) munmap(pointer, length);
    close(this.ringFd);
  }

  private map(call: string, length: number, flags: number, fd: number, offset: number): bigint {
    const pointer = mapOrThrow(call, length, flags, fd, offset);
    this.mappings.push([pointer, length]);
    return pointer;
  }

  /** Queues a statx of `path` (AT_STATX_FORCE_SYNC: a GETATTR for FUSE), run by an io-wq worker bound to this entry's CPU. */
  private queuePoke(path: string): void {
    const bytes = Buffer.from(`${path}\0`);
    if (bytes.length > POKE_PATH_MAX) return;
    new Uint8Array(this.header.buffer).set(bytes, POKE_PATH_AT);
    const mask = cpuMask(this.qid);
    ioUringRegister(SYS_IO_URING_REGISTER, this.ringFd, IORING_REGISTER_IOWQ_AFF, mask, mask.length); // without it, the stat runs on some CPU: no harm
    const at = this.nextSqe();
    const sqe = this.sqes;
    sqe.setUint8(at, IORING_OP_STATX);
    sqe.setInt32(at + 4, AT_FDCWD, true);
    sqe.setBigUint64(at + 8, this.headerPointer + BigInt(STATX_AT), true); // the struct statx to fill
    sqe.setBigUint64(at + 16, this.headerPointer + BigInt(POKE_PATH_AT), true);
    sqe.setUint32(at + 24, STATX_BASIC_STATS, true);
    sqe.setUint32(at + 28, AT_STATX_FORCE_SYNC, true);
    sqe.setBigUint64(at + 32, POKE, true);
    this.queueSqe();
  }

  /** The offset of the next free SQE, zeroed, to fill and then queue (queueSqe). */
  private nextSqe(): number {
    const at = (this.ring[this.sq.tail]! & this.sq.mask) * SQE_SIZE;
    for (let offset = 0; offset < SQE_SIZE; offset += 8) this.sqes.setBigUint64(at + offset, 0n, true);
    return at;
  }

  /** Hands the SQE filled at nextSqe() to the kernel's side of the ring (submitted by the next io_uring_enter). */
  private queueSqe(): void {
    Atomics.store(this.ring, this.sq.tail, this.ring[this.sq.tail]! + 1);
  }

  private submitAndWait(command: number, commitId: bigint, poke?: string): number {
    const at = this.nextSqe();
    const sqe = this.sqes;
    sqe.setUint8(at, IORING_OP_URING_CMD);
    sqe.setInt32(at + 4, this.fuseFd, true);
    sqe.setUint32(at + 8, command, true); // cmd_op
    sqe.setBigUint64(at + 16, this.iovecs, true); // addr: iovec[2], read by REGISTER
    sqe.setUint32(at + 24, 2, true); // len: two iovecs
    sqe.setBigUint64(at + 32, ENTRY_COMMAND, true);
    // struct fuse_uring_cmd_req, in the SQE's command area: flags, commit_id, qid
    sqe.setBigUint64(at + 56, commitId, true);
    sqe.setUint16(at + 64, this.qid, true);
    this.queueSqe();
    if (poke !== undefined) this.queuePoke(poke); // after the REGISTER: submitted in order
    return this.wait();
  }

  /**
   * From now on a wait for a request gives TIMED_OUT after `ms` with none
   * (the entry stays offered: wait() again, or close it).
   */
  limitWaits(ms: number): void {
    const page = new DataView(this.header.buffer, this.header.byteOffset);
    page.setBigInt64(WAIT_TIMESPEC_AT, BigInt(Math.floor(ms / 1000)), true);
    page.setBigInt64(WAIT_TIMESPEC_AT + 8, BigInt((ms % 1000) * 1_000_000), true);
    page.setBigUint64(WAIT_ARG_AT + 16, this.headerPointer + BigInt(WAIT_TIMESPEC_AT), true); // ts; no sigmask
    this.waitArgument = new Uint8Array(this.header.buffer, this.header.byteOffset + WAIT_ARG_AT, WAIT_ARG_SIZE);
  }

  /** Waits for the entry's command to complete: its result (0: a request), a negative errno, or TIMED_OUT. */
  wait(): number {
    for (;;) {
      const result = this.reap();
      if (result !== undefined) return result;
      const argument = this.waitArgument;
      const flags = IORING_ENTER_GETEVENTS | (argument ? IORING_ENTER_EXT_ARG : 0);
      if (Number(ioUringEnter(SYS_IO_URING_ENTER, this.ringFd, this.unsubmitted(), 1, flags, argument ?? null, argument ? WAIT_ARG_SIZE : 0)) < 0) {
        const code = lastErrno();
        if (code === ETIME) return this.reap() ?? TIMED_OUT;
        // a kick (SIGUSR2) meant for a run, or the kernel short of memory for a moment
        if (code !== EINTR && code !== EAGAIN && code !== EBUSY) throw new SysError('io_uring_enter', code);
      }
    }
  }

  /** Runs the work the kernel deferred to this ring and looks for the command's result, without waiting. */
  poll(): number | undefined {
    ioUringEnter(SYS_IO_URING_ENTER, this.ringFd, this.unsubmitted(), 0, IORING_ENTER_GETEVENTS, null, 0);
    return this.reap();
  }

  private unsubmitted(): number {
    return (this.ring[this.sq.tail]! - Atomics.load(this.ring, this.sq.head)) >>> 0;
  }

  /** Takes the completions there are: the entry command's result, if it is among them (a poke's stat is just done). */
  private reap(): number | undefined {
    const { ring, cq } = this;
    while (ring[cq.head]! !== Atomics.load(ring, cq.tail)) {
      const head = ring[cq.head]!;
      const cqe = cq.cqes + (head & cq.mask) * CQE_SIZE;
      const result = this.cqes.getInt32(cqe + 8, true);
      const userData = this.cqes.getBigUint64(cqe, true);
      Atomics.store(ring, cq.head, head + 1);
      if (userData === ENTRY_COMMAND) return result;
    }
    return undefined;
  }
}

/** Whether this process may have an io_uring of the kind a RingEntry uses (it may be refused: kernel.io_uring_disabled, seccomp). */
export function ringsAllowed(): boolean {
  const ringFd = Number(ioUringSetup(SYS_IO_URING_SETUP, 2, ringParams()));
  if (ringFd < 0) return false;
  close(ringFd);
  return true;
}
