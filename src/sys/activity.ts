// A watcher on the JS main thread over something other threads do (runs
// of vcpus, reader threads held by them): it looks every few ms while any
// is in progress, and sleeps once none has been for a while; the first one
// to begin after that wakes it. So an idle process costs no CPU, and a busy
// one no wake-up per activity. The counts live in shared memory (Int32
// slots: in progress, whether the watcher is awake, its wake-up counter).
const slot = { active: 0, watching: 1, wake: 2, count: 4 } as const;

export class Activity {
  private readonly slots: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(slot.count * 4)) {
    this.slots = new Int32Array(buffer, 0, slot.count);
  }

  /** Any thread: one more in progress. Wakes the watcher if it sleeps (once per burst, not per activity). */
  begin(): void {
    if (Atomics.add(this.slots, slot.active, 1) === 0 && Atomics.load(this.slots, slot.watching) === 0) {
      Atomics.add(this.slots, slot.wake, 1);
      Atomics.notify(this.slots, slot.wake);
    }
  }

  end(): void {
    Atomics.sub(this.slots, slot.active, 1);
  }

  /** Main thread: calls `look` every `periodMs` while anything is in progress or was within `idleMs`; never returns. */
  async watch(look: (now: number) => void, periodMs: number, idleMs: number): Promise<never> {
    const slots = this.slots;
    let lastActive = Date.now();
    Atomics.store(slots, slot.watching, 1);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, periodMs).unref());
      const now = Date.now();
      look(now);
      if (Atomics.load(slots, slot.active) > 0) lastActive = now;
      if (now - lastActive < idleMs) continue;
      // Read before the last look: an activity that begins after it either
      // is seen here or wakes the watcher (begin).
      const wake = Atomics.load(slots, slot.wake);
      Atomics.store(slots, slot.watching, 0);
      if (Atomics.load(slots, slot.active) === 0) await Atomics.waitAsync(slots, slot.wake, wake).value;
      Atomics.store(slots, slot.watching, 1);
      lastActive = Date.now();
    }
  }
}
