// What reader threads and the session on the main thread say to each other.
import type { MessagePort } from 'node:worker_threads';
import { LISTENER_FIELDS } from './listener.js';

/** A file readers may serve (its factory and share, see OffThread in node.ts), by key; without `file`, the key is gone. */
export interface Registration {
  key: number;
  file?: { factory: string; share: unknown };
}

/** How a reader takes requests: a clone of the /dev/fuse channel, or one FUSE over io_uring entry. */
export type TransportSetup =
  | {
    kind: 'channel';
    /** this reader's number (> 0), for the Listener */
    id: number;
    /** this reader's clone of the channel */
    fd: number;
    bufferSize: number;
  }
  | {
    kind: 'ring';
    /** the session's /dev/fuse fd, named by the ring's commands */
    fd: number;
    /** the CPU whose queue the entry is on (the thread is pinned there) */
    qid: number;
    /** at least the mount's max_write */
    payloadSize: number;
    /** the ReplyBox the main thread answers this reader's passed requests in */
    replyBox: SharedArrayBuffer;
    /** for a reader started because its queue was stuck: the mount point, to stat from its CPU once it is registered (RingEntry.register) */
    poke?: string;
    /** this reader's slot in the HoldWatch (-1: none) */
    watchIndex: number;
    holdWatch: SharedArrayBuffer;
  };

export interface ReaderSetup {
  transport: TransportSetup;
  /** Int32 counts, holdSlot.count per group of readers; this reader's group (0: the /dev/fuse readers, 1 + qid: ring queue qid) */
  counts: SharedArrayBuffer;
  group: number;
  /** readers the group keeps however idle: one beyond them that waits READER_IDLE_MS for a request leaves */
  keep: number;
  /** Int32 sessionSlot fields */
  session: SharedArrayBuffer;
  /** OpenTable's buffer */
  openTable: SharedArrayBuffer;
  /** every registration so far; later ones arrive as messages */
  registrations: Registration[];
  /** the module that builds the files readers serve (files/off-thread.ts: attach) */
  offThreadModule: string;
  /** print each request this reader serves itself (--debug) */
  debug: boolean;
}

/**
 * Session-wide Int32 slots: registry (bumped after each message about
 * registrations), rings (ringsState), then the Listener's.
 */
export const sessionSlot = { registry: 0, rings: 1, listener: 2, count: 2 + LISTENER_FIELDS } as const;

/** Whether ring readers serve: not known until INIT is answered, then yes or no. */
export const ringsState = { undecided: 0, serve: 1, none: 2 } as const;

/**
 * A ring reader starts with the session, before INIT settles, so that its
 * thread and module graph are ready when the first request comes: it waits
 * here for the session's word. Whether it is to serve.
 */
export function awaitRings(session: SharedArrayBuffer): boolean {
  const state = new Int32Array(session);
  while (Atomics.load(state, sessionSlot.rings) === ringsState.undecided) Atomics.wait(state, sessionSlot.rings, ringsState.undecided);
  return Atomics.load(state, sessionSlot.rings) === ringsState.serve;
}

/**
 * Per group of readers: how many; how many of them a run or a passed
 * request holds; whether one has asked for another reader and the session
 * has not answered yet; and how many holds have ended so far.
 */
export const holdSlot = { readers: 0, busy: 1, asked: 2, released: 3, count: 4 } as const;

/** A group's counts within the counts buffer. */
export function groupCounts(counts: SharedArrayBuffer, group: number): Int32Array {
  return new Int32Array(counts, group * holdSlot.count * 4, holdSlot.count);
}

/** Whether every reader of a group is held: a request would wait, so another should start. */
export function noReaderToSpare(counts: Int32Array): boolean {
  return Atomics.load(counts, holdSlot.readers) - Atomics.load(counts, holdSlot.busy) < 1;
}

/**
 * How long a reader beyond its group's `keep` waits for a request before it
 * leaves (its thread, heap and fds go): readers started for a burst of
 * runs do not outlive it.
 */
export const READER_IDLE_MS = 2000;

/**
 * An idle reader counts itself out of its group, if the group keeps more
 * than `keep` readers and one of them is still free without it: whether it
 * may leave.
 */
export function leaveGroup(counts: Int32Array, keep: number): boolean {
  for (;;) {
    const readers = Atomics.load(counts, holdSlot.readers);
    if (readers <= keep || readers - Atomics.load(counts, holdSlot.busy) < 2) return false;
    if (Atomics.compareExchange(counts, holdSlot.readers, readers, readers - 1) === readers) return true;
  }
}

/**
 * Counts this reader as held while `call` runs. A run may hold it for as
 * long as the guest runs (`mayLast`): if it leaves no reader of the group
 * free, ask the session for another (once until answered). A request passed
 * to the main thread ends by itself, soon, so it never asks.
 */
export function holding<T>(counts: Int32Array, port: MessagePort, call: () => T, mayLast: boolean): T {
  Atomics.add(counts, holdSlot.busy, 1);
  if (mayLast && noReaderToSpare(counts) && Atomics.compareExchange(counts, holdSlot.asked, 0, 1) === 0) {
    port.postMessage({ kind: 'need-reader' } satisfies ReaderMessage);
  }
  try {
    return call();
  } finally {
    Atomics.sub(counts, holdSlot.busy, 1);
    Atomics.add(counts, holdSlot.released, 1);
  }
}

export type ReaderMessage =
  /** a request for the main thread to serve */
  | Uint8Array
  /** a request the reader served and that failed: the main thread records why (last_error) and replies */
  | { kind: 'failed'; request: Uint8Array; errno: number; message: string }
  /** every reader of this one's group is held: start another */
  | { kind: 'need-reader' }
  /** the kernel ended the session (unmounted) */
  | { kind: 'ended' }
  /** this reader has left its group, and counted itself out: idle beyond the group's keep (leaveGroup), or never needed (no rings) */
  | { kind: 'retired' }
  /** a ring reader could not set up its io_uring entry: requests stay on /dev/fuse */
  | { kind: 'ring-unavailable'; message: string };

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
