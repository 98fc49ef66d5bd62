// What reader threads and the session on the main thread say to each other.
import type { SharedFile } from '../node.js';
import { LISTENER_FIELDS } from './listener.js';

/** A shared object (a vcpu, a VM's memory) readers may attach to, by key; without `shared`, the key is gone. */
export interface Registration {
  key: number;
  shared?: SharedFile;
}

export interface ReaderSetup {
  /** this reader's number (> 0), for the Listener */
  id: number;
  /** this reader's clone of the channel */
  fd: number;
  bufferSize: number;
  /** --run-timeout, for the runs readers make */
  runTimeoutMs: number;
  /** OpenTable's buffer */
  openTable: SharedArrayBuffer;
  /** Int32 slots: pool.readers, pool.busy, pool.registry (bumped after each message about registrations), then the Listener's */
  pool: SharedArrayBuffer;
  /** every registration so far; later ones arrive as messages */
  registrations: Registration[];
}

export const pool = { readers: 0, busy: 1, registry: 2, listener: 3, count: 3 + LISTENER_FIELDS } as const;

/** Whether every reader is held by a run: then another should start, so that one is always free to listen (and be the deputy). */
export function noReaderToSpare(slots: Int32Array): boolean {
  return Atomics.load(slots, pool.readers) - Atomics.load(slots, pool.busy) < 1;
}

export type ReaderMessage =
  /** a request for the main thread to serve */
  | Uint8Array
  /** a request the reader served and that failed: the main thread records why (last_error) and replies */
  | { kind: 'failed'; request: Uint8Array; errno: number; message: string }
  /** every reader but this one is busy with a run: start another */
  | { kind: 'need-reader' }
  /** the kernel ended the session (unmounted) */
  | { kind: 'ended'; errno: number }
  /** a ring reader could not set up its io_uring entry: requests stay on /dev/fuse */
  | { kind: 'ring-unavailable'; message: string };

/** A ring reader (ring-worker.ts): one FUSE over io_uring entry on queue `qid`, on a thread pinned to CPU `qid`. */
export interface RingReaderSetup {
  /** the session's /dev/fuse fd, named by the ring's commands */
  fd: number;
  qid: number;
  /** at least the mount's max_write */
  payloadSize: number;
  runTimeoutMs: number;
  openTable: SharedArrayBuffer;
  /** as ReaderSetup.pool: its registry slot */
  pool: SharedArrayBuffer;
  /** Int32 slots, queueSlot.count per queue */
  queues: SharedArrayBuffer;
  /** the ReplyBox the main thread answers this reader's passed requests in */
  replyBox: SharedArrayBuffer;
  registrations: Registration[];
  /** for a reader started because its queue was stuck: the mount point, to stat from its CPU once it is registered (RingEntry.register) */
  poke?: string;
}

/**
 * Per ring queue: its readers; how many of them a run or a passed request
 * holds; whether one has asked for another reader and the session has not
 * answered yet; and how many holds have ended so far.
 */
export const queueSlot = { readers: 0, busy: 1, asked: 2, released: 3, count: 4 } as const;

/** Whether every reader of a ring queue is held: a request from that CPU would wait, so another should start. */
export function noRingReaderToSpare(queue: Int32Array): boolean {
  return Atomics.load(queue, queueSlot.readers) - Atomics.load(queue, queueSlot.busy) < 1;
}

/**
 * Where the main thread puts its reply to a request a ring reader passed it.
 * The reader waits for it: a ring entry's reply can only be committed
 * through the reader's own io_uring.
 */
export class ReplyBox {
  private readonly state: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.state = new Int32Array(buffer, 0, 2);
    this.bytes = new Uint8Array(buffer, 8);
  }

  static create(capacity: number): ReplyBox {
    return new ReplyBox(new SharedArrayBuffer(8 + capacity));
  }

  /** Main thread: a whole reply (fuse_out_header, then its payload). */
  deliver(reply: Uint8Array): void {
    this.bytes.set(reply);
    Atomics.store(this.state, 1, reply.length);
    Atomics.store(this.state, 0, 1);
    Atomics.notify(this.state, 0);
  }

  /** Reader: waits for the reply, valid until the next request is passed. */
  take(): Uint8Array {
    // Atomics.wait can return before the notify (seen here under load;
    // likely a kick meant for a run this thread made earlier): look again.
    while (Atomics.load(this.state, 0) === 0) Atomics.wait(this.state, 0, 0);
    Atomics.store(this.state, 0, 0);
    return this.bytes.subarray(0, Atomics.load(this.state, 1));
  }
}
