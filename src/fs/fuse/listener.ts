// Which reader thread reads the channel: one at a time, the listener. It
// serves what it reads (a `run` is KVM_RUN on the listener itself) and
// reads again, polling, so a `run` loop or a dd stays on one thread, where
// the vcpu is loaded, and no other reader is woken for nothing. (With every
// reader in read(2), the kernel wakes a sleeping one for each request, and
// requests and the vcpu bounced between threads and CPUs: measured here,
// that costs more than the exit itself, and two exit loops served by one
// thread ran faster than by two.)
//
// A run can hold the listener for as long as the guest runs, so one other
// reader, the deputy, watches: when the listener has been inside one run for
// a while and a request waits, the deputy becomes the listener. The old one
// finds out when its run ends and waits for a turn. The deputy looks every
// DEPUTY_PERIOD_MS while runs happen (backing off to LONG_RUN_PERIOD_MS
// while one run lasts and no request comes) and sleeps once none have run
// for a second. Every other reader waits to be deputy.
import { pollChannel } from './channel.js';

/** Int32 slots of the listener state, within the pool's buffer from `base` on. */
const field = { token: 0, deputy: 1, run: 2, runSeq: 3, deputyAsleep: 4 } as const;
export const LISTENER_FIELDS = 5;
/** In token, deputy and run once the session is closed: no reader listens again. */
const CLOSED = -1;
/** How often the deputy looks at the listener while runs happen: a run this long may be overtaken. */
export const DEPUTY_PERIOD_MS = 0.5;
/** The longest wait between looks while one run lasts with no request waiting: what a request then may wait. */
const LONG_RUN_PERIOD_MS = 2;
/** Looks with no run in between after which the deputy sleeps until the next run (1 s). */
const IDLE_LOOKS = 1000 / DEPUTY_PERIOD_MS;
/** no one / nothing, in token, deputy and run */
const NONE = 0;

/** What a reader does when it waits long: leave (if it may; a waiting reader), or rest (the deputy). */
export interface IdleWait {
  ms: number;
  leave(): boolean;
  rest(): void;
}

export class Listener {
  /** `state` is shared by all readers and the session; `base` is where its fields start. */
  constructor(private readonly state: Int32Array, private readonly base: number) {}

  /** Whether reader `id` (> 0) is the listener; takes the role if no one has it. */
  holds(id: number): boolean {
    const token = Atomics.load(this.state, this.base + field.token);
    return token === id || (token === NONE && Atomics.compareExchange(this.state, this.base + field.token, NONE, id) === NONE);
  }

  /**
   * Blocks reader `id` until it is the listener (true): as the deputy, or
   * waiting to be one. `fd` is its channel clone. False once closed, or
   * once `idle.leave` said yes after the reader waited `idle.ms` with no
   * turn; a deputy asleep for `idle.ms` calls `idle.rest` (and sleeps on).
   */
  awaitTurn(id: number, fd: number, idle: IdleWait): boolean {
    const deputySlot = this.base + field.deputy;
    while (!this.holds(id)) {
      if (this.closed) return false;
      const deputy = Atomics.load(this.state, deputySlot);
      if (deputy === id || (deputy === NONE && Atomics.compareExchange(this.state, deputySlot, NONE, id) === NONE)) {
        this.watch(id, fd, idle);
      } else if (Atomics.wait(this.state, deputySlot, deputy, idle.ms) === 'timed-out' && idle.leave()) {
        return false;
      }
    }
    // Listening now: let another reader be the deputy.
    if (Atomics.compareExchange(this.state, deputySlot, id, NONE) === id) Atomics.notify(this.state, deputySlot, 1);
    return true;
  }

  /** The session is closing: every reader waiting for a turn, or watching as the deputy, returns now. */
  close(): void {
    for (const slot of [field.token, field.deputy, field.run]) {
      Atomics.store(this.state, this.base + slot, CLOSED);
      Atomics.notify(this.state, this.base + slot);
    }
  }

  private get closed(): boolean {
    return Atomics.load(this.state, this.base + field.token) === CLOSED;
  }

  /** The listener enters a run; returns what to hand to runEnded. */
  runStarted(): number {
    const seq = Atomics.add(this.state, this.base + field.runSeq, 1) + 1 || 1;
    Atomics.store(this.state, this.base + field.run, seq);
    if (Atomics.load(this.state, this.base + field.deputyAsleep) !== 0) this.wakeDeputy();
    return seq;
  }

  /** The run `seq` ended (a no-op if the deputy took over meanwhile). */
  runEnded(seq: number): void {
    Atomics.compareExchange(this.state, this.base + field.run, seq, NONE);
  }

  /** Reader `id` is gone (it failed): its roles are free again. */
  release(id: number): void {
    Atomics.compareExchange(this.state, this.base + field.token, id, NONE);
    if (Atomics.compareExchange(this.state, this.base + field.deputy, id, NONE) === id) Atomics.notify(this.state, this.base + field.deputy, 1);
    this.wakeDeputy();
  }

  /**
   * The deputy's watch, until it becomes the listener or the listener's
   * token is free. It takes over when the same run is seen on two looks in
   * a row (it has lasted at least a period) and a request is waiting.
   */
  private watch(id: number, fd: number, idle: IdleWait): void {
    const runSlot = this.base + field.run;
    const tokenSlot = this.base + field.token;
    let seen = NONE;
    let idleLooks = 0;
    let period = DEPUTY_PERIOD_MS;
    for (;;) {
      const token = Atomics.load(this.state, tokenSlot);
      if (token === NONE || token === CLOSED) return;
      const run = Atomics.load(this.state, runSlot);
      if (run !== NONE && run === seen) {
        if (pollChannel(fd)) {
          if (Atomics.compareExchange(this.state, tokenSlot, token, id) === token) {
            Atomics.compareExchange(this.state, runSlot, run, NONE);
            return;
          }
          continue;
        }
        period = Math.min(period * 2, LONG_RUN_PERIOD_MS);
      } else {
        period = DEPUTY_PERIOD_MS;
      }
      seen = run;
      idleLooks = run === NONE ? idleLooks + 1 : 0;
      if (idleLooks < IDLE_LOOKS) {
        Atomics.wait(this.state, runSlot, run, period);
        continue;
      }
      // No run for a while: sleep until the next one (runStarted wakes us).
      Atomics.store(this.state, this.base + field.deputyAsleep, 1);
      while (Atomics.load(this.state, runSlot) === NONE && Atomics.load(this.state, tokenSlot) !== NONE) {
        if (Atomics.wait(this.state, runSlot, NONE, idle.ms) === 'timed-out') idle.rest();
      }
      Atomics.store(this.state, this.base + field.deputyAsleep, 0);
      idleLooks = 0;
    }
  }

  private wakeDeputy(): void {
    Atomics.store(this.state, this.base + field.deputyAsleep, 0);
    Atomics.notify(this.state, this.base + field.run);
  }
}
