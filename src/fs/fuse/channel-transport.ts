// The /dev/fuse adapter of Transport: this reader's clone of the channel,
// read while the reader is the listener (listener.ts). A request passed to
// the main thread is answered there, on this clone; a reader held by a long
// run is overtaken by the deputy, and another reader starts whenever all
// but one are held (holding), so N vcpus that run long run on N threads.
import type { MessagePort } from 'node:worker_threads';
import { readRequest, writeReply } from './channel.js';
import { decodeWhole, OUT_HEADER_SIZE, type FuseRequest } from './protocol.js';
import { writeOutHeader } from './replies.js';
import { Listener, type IdleWait } from './listener.js';
import { holding, leaveGroup, READER_IDLE_MS, sessionSlot, type ReaderMessage, type TransportSetup } from './reader-protocol.js';
import type { Transport } from './transport.js';
import { IdleCollect } from '../../sys/idle-trim.js';

/**
 * How long a reader polls its channel after serving a request before it
 * sleeps: the next read of a `run` loop or a dd usually comes within this,
 * and is then served with no wake-up, on the thread where the vcpu is loaded.
 */
const READ_POLL_NS = 100_000n;

export class ChannelTransport implements Transport {
  private readonly listener: Listener;
  private readonly request: Uint8Array;
  private readonly replyBytes: Buffer;
  readonly payload: Uint8Array;
  private length = 0;
  private unique = 0n;
  /** a reply could not be written: the session is over (unmounted) */
  private ended = false;
  /** idle beyond the group's keep, this reader left it (its clone is closed by the session, which may still answer on it) */
  retired = false;
  private readonly heap = new IdleCollect();
  /** idle for READER_IDLE_MS: leave if the group can spare this reader, else give memory back */
  private readonly idleWait: IdleWait = {
    ms: READER_IDLE_MS,
    leave: () => {
      this.retired = leaveGroup(this.counts, this.keep);
      if (!this.retired) this.heap.idle();
      return this.retired;
    },
    rest: () => this.heap.idle(),
  };

  constructor(
    private readonly setup: Extract<TransportSetup, { kind: 'channel' }>, session: SharedArrayBuffer,
    private readonly counts: Int32Array, private readonly port: MessagePort, private readonly keep: number,
  ) {
    this.listener = new Listener(new Int32Array(session), sessionSlot.listener);
    this.request = new Uint8Array(setup.bufferSize);
    this.replyBytes = Buffer.alloc(setup.bufferSize + OUT_HEADER_SIZE);
    this.payload = this.replyBytes.subarray(OUT_HEADER_SIZE);
  }

  next(): FuseRequest | undefined {
    const { id, fd } = this.setup;
    if (this.ended) return undefined;
    if (!this.listener.holds(id) && !this.listener.awaitTurn(id, fd, this.idleWait)) return undefined; // closed, or left
    try {
      this.length = readRequest(fd, this.request, READ_POLL_NS, this.idleWait);
    } catch {
      return undefined; // ENODEV: unmounted
    }
    const request = decodeWhole(this.request.subarray(0, this.length));
    this.unique = request.unique;
    this.heap.served();
    return request;
  }

  reply(length: number): void {
    writeOutHeader(this.replyBytes, this.unique, 0, OUT_HEADER_SIZE + length);
    try {
      writeReply(this.setup.fd, this.replyBytes.subarray(0, OUT_HEADER_SIZE + length));
    } catch {
      this.ended = true;
    }
  }

  pass(failure?: { errno: number; message: string }): void {
    const request = this.request.slice(0, this.length);
    if (failure) this.port.postMessage({ kind: 'failed', request, ...failure } satisfies ReaderMessage);
    else this.port.postMessage(request satisfies ReaderMessage, [request.buffer]);
  }

  /** A run holds this thread for as long as the guest runs: another reader must be free meanwhile, and the deputy watches it. */
  hold<T>(call: () => T): T {
    return holding(this.counts, this.port, () => {
      const run = this.listener.runStarted();
      try {
        return call();
      } finally {
        this.listener.runEnded(run);
      }
    }, true);
  }

  close(): void {}
}
