// The reader threads of a session and their groups: the /dev/fuse readers
// (group 0), started at once, and, once INIT settles on FUSE over io_uring,
// the ring readers of each CPU's queue (group 1 + cpu). A group whose
// readers are all held by reads that last (runs) gets another reader; a
// reader that dies (a bug) is replaced. Requests readers pass come to the
// session through `handlers`, with where their answer goes.
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { cloneChannel, writeReply } from './channel.js';
import { close } from '../../sys/libc.js';
import { HoldWatch, WATCHED_READERS } from './hold-watch.js';
import { Listener } from './listener.js';
import {
  groupCounts, holdSlot, noReaderToSpare, ReplyBox, ringsState, sessionSlot, type ReaderMessage, type ReaderSetup, type Registration, type TransportSetup,
} from './reader-protocol.js';
import { abandonRings } from './rings-available.js';
import { abortConnection } from './kernel-mount.js';
import { OUT_HEADER_SIZE } from './protocol.js';
import { possibleCpus } from './cpus.js';

/**
 * Where the reply to one request goes: the /dev/fuse clone it was read
 * from, or the ring reader that passed it. Called once for every request
 * passed; undefined: the request takes no reply (FORGET, a found INTERRUPT).
 */
export type Answer = (reply: Uint8Array | undefined) => void;

/** What the pool does for one reader: count and answer the requests it passes, and clean up when it retires or fails. */
interface ReaderEnd {
  passed(): void;
  answer: Answer;
  retired(): void;
  /** it failed (a bug): start another in its place */
  replace(): void;
}

export interface PoolHandlers {
  /** a request for the main thread; `failure`: a reader served it, and it failed */
  request(request: Uint8Array, answer: Answer, failure?: { errno: number; message: string }): void;
  /** the kernel ended the session (unmounted) */
  ended(): void;
}

export interface PoolOptions {
  /** the session's /dev/fuse fd */
  fd: number;
  /** /dev/fuse readers at the start */
  readers: number;
  /** the largest request, and the largest write's data */
  bufferSize: number;
  maxWrite: number;
  /** a reader started for a stuck ring queue stats this (RingEntry.register) */
  mountPoint: string;
  /** the module that builds the files readers serve */
  offThreadModule: string;
  /** whether INIT may settle on FUSE over io_uring: ring readers then start with the /dev/fuse ones, and wait for it */
  rings: boolean;
  /** readers print each request they serve themselves */
  debug: boolean;
  openTable: SharedArrayBuffer;
}

/**
 * Ring readers each CPU's queue starts with: one to serve, one free while
 * the first is held by a run. (A reader started later takes only requests
 * made after it: the kernel hands a request that is already waiting for an
 * entry only to an entry that commits a reply.)
 */
const RING_READERS_PER_QUEUE = 2;
/** How long every reader of a ring queue may stay held before it gets another (a /dev/fuse reader gets one at once). */
const RING_HOLD_GRACE_MS = 20;
const CHANNEL_GROUP = 0;

export class ReaderPool {
  private readonly workers: Worker[] = [];
  private readonly session = new Int32Array(new SharedArrayBuffer(sessionSlot.count * 4));
  private readonly listener = new Listener(this.session, sessionSlot.listener);
  private readonly counts = new SharedArrayBuffer((2 + Math.max(...possibleCpus())) * holdSlot.count * 4);
  private readonly holdWatch = new HoldWatch();
  /** where each ring reader waits for the main thread's answers */
  private readonly replyBoxes = new Set<ReplyBox>();
  /** HoldWatch slots free for the next ring reader */
  private readonly watchIndexes = Array.from({ length: WATCHED_READERS }, (_, index) => WATCHED_READERS - 1 - index);
  private nextChannelId = 1;
  private running = true;
  /** the kernel ended the session (unmounted): there is no connection left to abort */
  private ended = false;
  /** a ring reader could not set up its entry: no more are started */
  private ringFailed = false;

  constructor(private readonly options: PoolOptions, private readonly handlers: PoolHandlers, private readonly registrations: () => Registration[]) {}

  /**
   * Starts the /dev/fuse readers, and the ring readers of every CPU's queue
   * if rings may be had; resolves once the /dev/fuse ones run. The ring
   * readers wait for INIT (ringsSettled): the kernel holds every request
   * until each queue has an entry, so they get ready meanwhile.
   */
  async start(): Promise<void> {
    const started = Array.from({ length: this.options.readers }, () => this.addChannelReader());
    if (this.options.rings) for (const cpu of possibleCpus()) for (let n = 0; n < RING_READERS_PER_QUEUE; n++) this.addRingReader(cpu);
    await Promise.all(started.map((worker) => once(worker, 'online')));
  }

  /** INIT is answered: with FUSE over io_uring (`rings`) the ring readers serve, else they leave. */
  ringsSettled(rings: boolean): void {
    if (rings) this.holdWatch.start();
    this.decideRings(rings ? ringsState.serve : ringsState.none);
  }

  private decideRings(state: number): void {
    if (Atomics.compareExchange(this.session, sessionSlot.rings, ringsState.undecided, state) !== ringsState.undecided) return;
    Atomics.notify(this.session, sessionSlot.rings);
  }

  /** Tells every reader about a registration; queued before any reply written after it. */
  tell(registration: Registration): void {
    for (const worker of this.workers) worker.postMessage(registration);
    Atomics.add(this.session, sessionSlot.registry, 1);
  }

  private addChannelReader(): Worker {
    // Each reader has a clone of the channel, read while it is the listener;
    // a request is answered on the clone it was read from, so a retired
    // reader's clone is closed only once every request it passed is answered.
    const channel = cloneChannel(this.options.fd);
    const id = this.nextChannelId++;
    let owed = 0;
    let left = false;
    const closeIfDone = () => {
      if (left && owed === 0) close(channel);
    };
    return this.addReader(CHANNEL_GROUP, this.options.readers, { kind: 'channel', id, fd: channel, bufferSize: this.options.bufferSize }, {
      passed: () => owed++,
      answer: (reply) => {
        if (reply) writeReply(channel, reply);
        owed--;
        closeIfDone();
      },
      retired: () => {
        left = true;
        this.listener.release(id);
        closeIfDone();
      },
      replace: () => {
        this.listener.release(id);
        this.addChannelReader();
      },
    });
  }

  /** `unstick`: the queue has requests waiting for an entry, which a new entry alone does not get. */
  private addRingReader(qid: number, unstick = false): void {
    if (this.ringFailed) return;
    const replyBox = ReplyBox.create(this.options.bufferSize);
    this.replyBoxes.add(replyBox);
    const watchIndex = this.watchIndexes.pop() ?? -1;
    this.addReader(1 + qid, RING_READERS_PER_QUEUE, {
      kind: 'ring', fd: this.options.fd, qid, payloadSize: this.options.maxWrite, replyBox: replyBox.buffer,
      poke: unstick ? this.options.mountPoint : undefined, watchIndex, holdWatch: this.holdWatch.buffer,
    }, {
      passed: () => {},
      // (a ring reader passes no request that takes no reply: FORGET and INTERRUPT come through /dev/fuse)
      answer: (reply) => reply && replyBox.deliver(reply),
      retired: () => {
        this.replyBoxes.delete(replyBox);
        if (watchIndex >= 0) this.watchIndexes.push(watchIndex);
      },
      replace: () => this.addRingReader(qid),
    });
  }

  /** Starts a reader of `group`, which keeps `keep` readers however idle. */
  private addReader(group: number, keep: number, transport: TransportSetup, end: ReaderEnd): Worker {
    const counts = groupCounts(this.counts, group);
    const setup: ReaderSetup = {
      transport, counts: this.counts, group, keep, session: this.session.buffer as SharedArrayBuffer, openTable: this.options.openTable,
      registrations: this.registrations(), offThreadModule: this.options.offThreadModule, debug: this.options.debug,
    };
    Atomics.add(counts, holdSlot.readers, 1);
    const worker = new Worker(new URL('./reader-worker.js', import.meta.url), { workerData: setup, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    worker.on('message', (message: ReaderMessage) => {
      if (message instanceof Uint8Array) {
        end.passed();
        return this.handlers.request(message, end.answer);
      }
      switch (message.kind) {
        case 'failed':
          end.passed();
          return this.handlers.request(message.request, end.answer, message);
        case 'need-reader':
          return this.considerReader(group, counts);
        case 'retired':
          // (it counted itself out of the group: leaveGroup)
          return end.retired();
        case 'ended':
          // A ring entry ends with its queue; the session ends with /dev/fuse.
          if (group === CHANNEL_GROUP && this.running) {
            this.running = false;
            this.ended = true;
            this.handlers.ended();
          }
          return;
        case 'ring-unavailable':
          this.forget(worker, counts);
          return this.ringUnavailable(message.message);
      }
    });
    worker.once('exit', () => {
      const at = this.workers.indexOf(worker);
      if (at >= 0) this.workers.splice(at, 1);
    });
    worker.once('error', (error) => {
      // A group left with no reader would hang every request it should take.
      process.stderr.write(`kvmfs: a reader thread failed (${error.message}); starting another\n`);
      this.forget(worker, counts);
      if (this.running) end.replace();
    });
    this.workers.push(worker);
    return worker;
  }

  private forget(worker: Worker, counts: Int32Array): void {
    Atomics.sub(counts, holdSlot.readers, 1);
    const at = this.workers.indexOf(worker);
    if (at >= 0) this.workers.splice(at, 1);
  }

  /**
   * Ends every reader thread without waiting on the kernel: FUSE connection
   * `connection` is aborted (blocked reads of /dev/fuse and ring commands
   * return), readers waiting for a turn are let go, and ring readers waiting
   * for an answer get an empty one. Resolves once every reader has left, or
   * after `waitMs` (a reader left then is terminated: the process must never
   * wait on a thread blocked in a FUSE call).
   */
  async close(connection: number | undefined, waitMs: number): Promise<void> {
    this.running = false;
    this.listener.close();
    this.decideRings(ringsState.none);
    // (only root may abort; other users' daemons end as the kernel ends the session)
    if (connection !== undefined && !this.ended && !abortConnection(connection) && process.getuid?.() === 0) {
      process.stderr.write('kvmfs: the FUSE connection could not be aborted (fusectl); readers blocked in it may stay\n');
    }
    for (const box of this.replyBoxes) box.deliver(new Uint8Array(OUT_HEADER_SIZE));
    const left = Promise.all(this.workers.map((worker) => once(worker, 'exit')));
    await Promise.race([left, sleep(waitMs)]);
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  /**
   * A reader of `group` began a read that may last with every other one
   * held. Short holds (an exit loop's runs, requests passed to this thread)
   * end and free their reader soon; a ring queue is stuck only if no hold
   * ends for a while, and only then does it get another reader (each is a
   * thread and its heap). Until the group has a reader to spare, it is
   * looked at again every grace period (readers do not ask again meanwhile).
   */
  private considerReader(group: number, counts: Int32Array): void {
    const released = Atomics.load(counts, holdSlot.released);
    setTimeout(() => {
      if (noReaderToSpare(counts)) {
        if (group !== CHANNEL_GROUP && Atomics.load(counts, holdSlot.released) !== released) return this.considerReader(group, counts);
        if (group === CHANNEL_GROUP) this.addChannelReader();
        else this.addRingReader(group - 1, true);
      }
      Atomics.store(counts, holdSlot.asked, 0);
    }, group === CHANNEL_GROUP ? 0 : RING_HOLD_GRACE_MS);
  }

  /** Until every CPU's queue has an entry the kernel sends everything to /dev/fuse: without rings, the mount goes on there. */
  private ringUnavailable(why: string): void {
    if (this.ringFailed) return;
    this.ringFailed = true;
    process.stderr.write(`kvmfs: FUSE over io_uring cannot be used here (${why}); requests stay on /dev/fuse\n`);
    try {
      abandonRings(this.options.fd);
    } catch (error) {
      process.stderr.write(`kvmfs: and the kernel could not be told so (${(error as Error).message}): requests made now may wait forever; remount with --no-io-uring\n`);
    }
  }
}
