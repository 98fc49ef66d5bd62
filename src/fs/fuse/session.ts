// The FUSE session on the JS main thread. Reader threads (pool.ts) take
// every request; they serve reads and writes of files served off the main
// thread themselves (reader-files.ts) and pass the rest here, where each is
// decoded (protocol.ts) and answered: FORGET by the node table, INTERRUPT
// by interrupt.ts, everything else by the dispatch to the file system. A
// /dev/fuse reader's request is answered on that reader's clone of the
// channel; a ring reader's answer goes back to the reader, whose io_uring
// alone can commit it.
import { toFsError } from '../errors.js';
import { BusyPoll } from '../busy-poll.js';
import { IdleTrim } from '../../sys/idle-trim.js';
import { Dispatch } from './dispatch.js';
import type { Filesystem } from './filesystem.js';
import { interrupt } from './interrupt.js';
import { NodeTable } from './nodes.js';
import { ReaderPool, type Answer } from './pool.js';
import { debugLine, decodeWhole, initFlags, initFlags2, type FuseRequest, type InitIn } from './protocol.js';
import { Registry } from './registry.js';
import { initOut, reply } from './replies.js';
import { whyNoRings } from './rings-available.js';
import { connectionOf } from './kernel-mount.js';

/** The largest read or write request: 256 pages, so a 1 MiB dd block is one request. */
const MAX_PAGES = 256;
const MAX_WRITE = MAX_PAGES * 4096;
/** A request is a header, an op's fixed part and at most MAX_WRITE bytes of data. */
const REQUEST_BUFFER_SIZE = MAX_WRITE + 4096;

export interface SessionOptions {
  debug: boolean;
  /** ms the event loop keeps polling after a request (0: never) */
  busyPollMs: number;
  /** /dev/fuse reader threads at the start; one more is started whenever all but one are held by runs */
  readers: number;
  /** take requests through FUSE over io_uring when the kernel offers it at INIT */
  ioUring: boolean;
  /** where the session is mounted: a reader started for a stuck ring queue stats it (RingEntry.register) */
  mountPoint: string;
  /** the module reader threads build the files they serve with (files/off-thread.ts) */
  offThreadModule: string;
}

export class FuseSession {
  private readonly nodes = new NodeTable();
  private readonly poll: BusyPoll;
  private readonly trim = new IdleTrim();
  private readonly pool: ReaderPool;
  private readonly registry: Registry;
  private readonly dispatch: Dispatch;
  private ended: (() => void) | undefined;
  /** this process may serve rings (--io-uring, and io_uring is not refused to it) */
  private readonly ringsPossible: boolean;
  /** INIT settled on FUSE over io_uring */
  private ringAgreed = false;
  /** the kernel's number of this session's connection (fusectl), once mounted */
  private connection: number | undefined;

  constructor(fd: number, private readonly fs: Filesystem, private readonly options: SessionOptions) {
    this.ringsPossible = options.ioUring && whyNoRings() === undefined;
    this.poll = new BusyPoll(options.busyPollMs);
    this.registry = new Registry((registration) => this.pool.tell(registration));
    this.pool = new ReaderPool(
      {
        fd, readers: options.readers, bufferSize: REQUEST_BUFFER_SIZE, maxWrite: MAX_WRITE, mountPoint: options.mountPoint,
        offThreadModule: options.offThreadModule, openTable: this.registry.table.buffer, debug: options.debug, rings: this.ringsPossible,
      },
      {
        request: (request, answer, failure) => this.serve(request, answer, failure),
        ended: () => this.ended?.(),
      },
      () => this.registry.registrations(),
    );
    this.dispatch = new Dispatch(fs, this.nodes, this.registry, (init) => this.init(init));
  }

  /** Starts the reader threads; resolves once they all run. `onEnd` runs once the kernel ends the session (unmounted). */
  async start(onEnd: () => void): Promise<void> {
    this.ended = onEnd;
    this.connection = connectionOf(this.options.mountPoint);
    await this.pool.start();
  }

  /**
   * Ends the session now (the daemon is going): every read that may last is
   * interrupted, the kernel's connection is aborted, so every request in
   * flight fails (ECONNABORTED) and every reader's blocking call returns.
   * Resolves once every reader thread has left, or after `waitMs`.
   */
  async close(waitMs: number): Promise<void> {
    this.trim.close();
    for (const handle of this.registry.blockedHandles()) this.fs.interrupt(handle);
    await this.pool.close(this.connection, waitMs);
  }

  /** A request a reader passed; with `failure`, one it served that failed: recorded in last_error, then answered with its errno. */
  private serve(bytes: Uint8Array, answer: Answer, failure?: { errno: number; message: string }): void {
    this.poll.touch();
    this.trim.touch();
    const request = decodeWhole(bytes);
    if (failure) {
      const path = this.nodes.path(request.nodeId);
      if (path !== undefined) this.fs.recordFailure(path, failure);
      return answer(reply(request.unique, failure.errno));
    }
    if (this.options.debug) process.stderr.write(debugLine(request, 'main thread'));
    if (request.op === 'FORGET' || request.op === 'BATCH_FORGET') {
      for (const { nodeId, lookups } of request.forgets) this.nodes.forget(nodeId, lookups);
      return answer(undefined);
    }
    if (request.op === 'INTERRUPT') return interrupt(this.fs, this.registry, request, answer);
    this.answer(request, answer);
  }

  private answer(request: FuseRequest, answer: Answer): void {
    Promise.resolve()
      .then(() => this.dispatch.answer(request))
      .then(
        (payload) => {
          answer(reply(request.unique, 0, payload));
          // Ring commands fail until the kernel has the INIT reply.
          if (request.op === 'INIT') this.pool.ringsSettled(this.ringAgreed);
        },
        (error) => {
          answer(reply(request.unique, toFsError(error).errno));
          if (request.op === 'INIT') this.pool.ringsSettled(false);
        },
      );
  }

  /** INIT: the protocol kvmfs speaks, and FUSE over io_uring if offered and it can be had. */
  private init(init: InitIn): Uint8Array {
    const flags = init.flags & (initFlags.ASYNC_READ | initFlags.BIG_WRITES | initFlags.MAX_PAGES);
    // The kernel offers io_uring only where it is enabled (fuse's enable_uring).
    // Once agreed, the kernel holds requests until every CPU's queue has an entry: agree only if rings can be had.
    if (this.ringsPossible && init.flags2 & initFlags2.OVER_IO_URING) {
      this.ringAgreed = true;
      return initOut(flags | initFlags.INIT_EXT, MAX_WRITE, MAX_PAGES, initFlags2.OVER_IO_URING);
    }
    return initOut(flags, MAX_WRITE, MAX_PAGES);
  }
}
