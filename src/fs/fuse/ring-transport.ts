// The FUSE over io_uring adapter of Transport: one ring entry on the queue
// of CPU `qid`, on a thread pinned there (uring.ts), so the requests of
// callers on that CPU wake it there. A request passed to the main thread is
// answered in this reader's ReplyBox and committed through its own
// io_uring (no other thread can). A run or a passed request holds the
// thread; a queue whose readers all stay held gets another (pool.ts), so a
// request from any CPU always finds an entry soon.
import type { MessagePort } from 'node:worker_threads';
import { decodeRequest, IN_HEADER_SIZE, OUT_HEADER_SIZE, type FuseRequest } from './protocol.js';
import { writeOutHeader } from './replies.js';
import { holding, holdSlot, leaveGroup, READER_IDLE_MS, ReplyBox, type ReaderMessage, type TransportSetup } from './reader-protocol.js';
import { NOT_INITIALIZED, ringHeader, sessionEnded, TIMED_OUT } from './ring-abi.js';
import { RingEntry } from './uring.js';
import { pinToCpu } from './cpus.js';
import { HoldWatch } from './hold-watch.js';
import type { Transport } from './transport.js';
import { pthreadSelf, SysError } from '../../sys/libc.js';
import { IdleCollect } from '../../sys/idle-trim.js';

type RingSetup = Extract<TransportSetup, { kind: 'ring' }>;

/** How long to wait before offering the entry again when the kernel has not finished INIT yet. */
const NOT_READY_RETRY_MS = 1;
/** A run this long may have been let onto any CPU (HoldWatch): pin the thread again after it. */
const LONG_RUN_MS = 5;

export class RingTransport implements Transport {
  private readonly header: DataView;
  private readonly replyBox: ReplyBox;
  private readonly watch: HoldWatch;
  private readonly thread = BigInt(pthreadSelf());
  private registered = false;
  retired = false;
  private readonly heap = new IdleCollect();
  private unique = 0n;
  private payloadLength = 0;

  private constructor(
    private readonly setup: RingSetup, private readonly entry: RingEntry, private readonly counts: Int32Array, private readonly port: MessagePort,
    private readonly keep: number,
  ) {
    entry.limitWaits(READER_IDLE_MS);
    this.header = new DataView(entry.header.buffer, entry.header.byteOffset, ringHeader.size);
    this.replyBox = new ReplyBox(setup.replyBox);
    this.watch = new HoldWatch(setup.holdWatch);
  }

  /**
   * The entry, on this thread pinned to its CPU. No ring here after all
   * (io_uring refused to this process, say): the kernel keeps sending
   * requests to /dev/fuse until every queue has an entry, so the mount goes
   * on without rings. The session is told, and this thread ends.
   */
  static open(setup: RingSetup, counts: Int32Array, port: MessagePort, keep: number): RingTransport {
    pinToCpu(setup.qid);
    try {
      return new RingTransport(setup, RingEntry.open(setup.fd, setup.qid, setup.payloadSize), counts, port, keep);
    } catch (error) {
      return unavailable(port, (error as Error).message);
    }
  }

  get payload(): Uint8Array {
    return this.entry.payload;
  }

  next(): FuseRequest | undefined {
    let result = this.registered ? this.entry.commitAndFetch(this.unique) : this.register();
    while (result === TIMED_OUT) result = this.leaveOrWait();
    if (this.retired) return undefined;
    if (result !== 0) {
      // Unmounted (or the daemon going): the kernel ends every entry so. Anything
      // else is a bug: fail, and the session starts another reader for the queue.
      if (sessionEnded(result)) return undefined;
      throw new SysError('FUSE ring command', -result);
    }
    this.payloadLength = this.header.getUint32(ringHeader.payloadSize, true);
    const request = decodeRequest(
      this.entry.header.subarray(ringHeader.inOut, ringHeader.inOut + IN_HEADER_SIZE),
      this.entry.header.subarray(ringHeader.opIn, ringHeader.opIn + this.opInLength()),
      this.entry.payload.subarray(0, this.payloadLength),
    );
    this.unique = request.unique;
    this.heap.served();
    return request;
  }

  /** The reply's header and payload length go in place; the payload is already in entry.payload. */
  reply(length: number): void {
    writeOutHeader(this.entry.header, this.unique, 0, OUT_HEADER_SIZE + length);
    this.header.setUint32(ringHeader.payloadSize, length, true);
  }

  /** The main thread answers (a whole reply, in the ReplyBox); next() commits it. */
  pass(failure?: { errno: number; message: string }): void {
    const request = this.wholeRequest();
    const message: ReaderMessage = failure ? { kind: 'failed', request, ...failure } : request;
    const reply = holding(this.counts, this.port, () => {
      this.port.postMessage(message);
      return this.replyBox.take();
    }, false);
    this.entry.header.set(reply.subarray(0, OUT_HEADER_SIZE), ringHeader.inOut);
    this.entry.payload.set(reply.subarray(OUT_HEADER_SIZE));
    this.header.setUint32(ringHeader.payloadSize, reply.length - OUT_HEADER_SIZE, true);
  }

  hold<T>(call: () => T): T {
    const started = performance.now();
    const index = this.setup.watchIndex;
    try {
      return holding(this.counts, this.port, () => {
        if (index >= 0) this.watch.begin(index, this.thread);
        try {
          return call();
        } finally {
          if (index >= 0) this.watch.end(index);
        }
      }, true);
    } finally {
      if (performance.now() - started > LONG_RUN_MS) pinToCpu(this.setup.qid);
    }
  }

  close(): void {
    this.entry.close();
  }

  private register(): number {
    let result = this.entry.register(this.setup.poke);
    while (result === NOT_INITIALIZED) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, NOT_READY_RETRY_MS);
      result = this.entry.register(this.setup.poke);
    }
    if (result < 0 && !sessionEnded(result)) {
      this.entry.close();
      unavailable(this.port, new SysError('FUSE_IO_URING_CMD_REGISTER', -result).message);
    }
    this.registered = true;
    return result;
  }

  /**
   * No request for READER_IDLE_MS: a reader its queue can spare leaves. Its
   * entry is still offered until the ring closes (close()), and closing
   * takes it back only while no request is on its way to it, so one last
   * look runs the kernel's deferred work first: a request that came after
   * all is served, and the reader stays. (A request handed to the entry
   * between that look and the close would wait until unmount; the entry
   * that waited longest is the last the kernel picks, so only a burst that
   * takes every other entry of the queue in that moment can meet it.)
   */
  private leaveOrWait(): number {
    if (!leaveGroup(this.counts, this.keep)) {
      this.heap.idle();
      return this.entry.wait();
    }
    const late = this.entry.poll();
    if (late === undefined) {
      this.retired = true;
      return 0;
    }
    Atomics.add(this.counts, holdSlot.readers, 1);
    return late;
  }

  /** Bytes of the op's own header in op_in: what the request's length leaves beside its header and payload. */
  private opInLength(): number {
    const length = this.header.getUint32(ringHeader.inOut, true);
    return Math.max(0, Math.min(ringHeader.entInOut - ringHeader.opIn, length - IN_HEADER_SIZE - this.payloadLength));
  }

  /** The request as /dev/fuse would have given it: fuse_in_header, the op's header, then the payload. */
  private wholeRequest(): Uint8Array {
    const opInLength = this.opInLength();
    const request = new Uint8Array(IN_HEADER_SIZE + opInLength + this.payloadLength);
    request.set(this.entry.header.subarray(ringHeader.inOut, ringHeader.inOut + IN_HEADER_SIZE));
    request.set(this.entry.header.subarray(ringHeader.opIn, ringHeader.opIn + opInLength), IN_HEADER_SIZE);
    request.set(this.entry.payload.subarray(0, this.payloadLength), IN_HEADER_SIZE + opInLength);
    return request;
  }
}

function unavailable(port: MessagePort, why: string): never {
  port.postMessage({ kind: 'ring-unavailable', message: why } satisfies ReaderMessage);
  process.exit(0);
}
