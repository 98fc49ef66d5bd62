// A ring reader is pinned to the CPU whose queue it serves, so a request is
// served where its caller runs. A read that lasts (a guest that runs for
// long) must not keep its thread there while other CPUs idle: the main
// thread looks at the readers held by such reads (Activity: it sleeps while
// none are), and one seen held by the same read on two looks in a row
// (10-20 ms) may run on any CPU from then on. The reader pins itself again
// once the read ends.
import { Activity } from '../../sys/activity.js';
import { pthreadSetaffinity } from '../../sys/libc.js';
import { EVERY_CPU } from './cpus.js';

/** Ring readers watched: beyond this many, a reader's long reads stay on its CPU. */
export const WATCHED_READERS = 256;
const LOOK_MS = 10;
const IDLE_MS = 1000;
const ACTIVITY_BYTES = 16;

export class HoldWatch {
  private readonly activity: Activity;
  /** per reader: its pthread_t while held by a read that may last (0: not held) */
  private readonly threads: BigInt64Array;
  /** per reader: a count of such reads, telling one from the next */
  private readonly reads: Int32Array;
  /** main thread: the read each reader was seen in, and whether it was let go of its CPU */
  private readonly seen = new Map<number, { read: number; unpinned: boolean }>();
  private watching = false;

  constructor(readonly buffer = new SharedArrayBuffer(ACTIVITY_BYTES + WATCHED_READERS * 12)) {
    this.activity = new Activity(buffer);
    this.threads = new BigInt64Array(buffer, ACTIVITY_BYTES, WATCHED_READERS);
    this.reads = new Int32Array(buffer, ACTIVITY_BYTES + WATCHED_READERS * 8, WATCHED_READERS);
  }

  /** Reader `index`, on thread `thread`: a read that may last begins. */
  begin(index: number, thread: bigint): void {
    Atomics.add(this.reads, index, 1);
    Atomics.store(this.threads, index, thread);
    this.activity.begin();
  }

  end(index: number): void {
    Atomics.store(this.threads, index, 0n);
    this.activity.end();
  }

  /** Main thread: starts looking (once). */
  start(): void {
    if (this.watching) return;
    this.watching = true;
    void this.activity.watch(() => this.look(), LOOK_MS, IDLE_MS);
  }

  private look(): void {
    for (let index = 0; index < WATCHED_READERS; index++) {
      const thread = Atomics.load(this.threads, index);
      if (thread === 0n) {
        this.seen.delete(index);
        continue;
      }
      const read = Atomics.load(this.reads, index);
      const seen = this.seen.get(index);
      if (seen?.read !== read) {
        this.seen.set(index, { read, unpinned: false });
      } else if (!seen.unpinned) {
        pthreadSetaffinity(thread, EVERY_CPU.length, EVERY_CPU);
        seen.unpinned = true;
      }
    }
  }
}
