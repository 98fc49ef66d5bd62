// Stops runs that reach the mount's run time limit. The thread making a run
// is blocked in KVM_RUN, so another must stop it: this watchdog on the JS
// main thread looks every few ms while runs happen, and sleeps when none
// have for a while; the first run after that wakes it (activitySlot), so an
// idle mount costs no CPU and a busy one no wake-up per run. A run it sees
// on two looks in a row has lasted a while: its thread may then run on any
// CPU (SharedVcpu.unpinRunner).
import { activitySlot } from './vcpu-protocol.js';
import type { SharedVcpu } from './shared-vcpu.js';

/** How often the watchdog looks while runs happen: a run ends at most this late. */
const POLL_MS = 10;
/** How long without runs before the watchdog sleeps. */
const IDLE_MS = 1000;

export class RunWatchdog {
  readonly activity = new SharedArrayBuffer(activitySlot.count * 4);
  private readonly slots = new Int32Array(this.activity);
  private readonly vcpus = new Set<SharedVcpu>();
  /** the run each vcpu was in at the last look, and whether its thread is unpinned yet */
  private readonly runsSeen = new Map<SharedVcpu, { run: number; unpinned: boolean }>();
  private started = false;

  add(vcpu: SharedVcpu): void {
    this.vcpus.add(vcpu);
    if (!this.started) {
      this.started = true;
      void this.watch();
    }
  }

  delete(vcpu: SharedVcpu): void {
    this.vcpus.delete(vcpu);
    this.runsSeen.delete(vcpu);
  }

  private look(vcpu: SharedVcpu, now: number): void {
    const run = vcpu.runInProgress;
    if (run === undefined) {
      this.runsSeen.delete(vcpu);
      return;
    }
    if (now >= vcpu.deadline) return vcpu.stop();
    const seen = this.runsSeen.get(vcpu);
    if (seen?.run !== run) {
      this.runsSeen.set(vcpu, { run, unpinned: false });
    } else if (!seen.unpinned) {
      vcpu.unpinRunner();
      seen.unpinned = true;
    }
  }

  private async watch(): Promise<void> {
    const slots = this.slots;
    let lastActive = Date.now();
    Atomics.store(slots, activitySlot.watching, 1);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS).unref());
      const now = Date.now();
      for (const vcpu of this.vcpus) this.look(vcpu, now);
      if (Atomics.load(slots, activitySlot.active) > 0) lastActive = now;
      if (now - lastActive < IDLE_MS) continue;
      // Announced before the last look: a run that starts after it either
      // is seen here or wakes the watchdog (SharedVcpu.announceRun).
      const wake = Atomics.load(slots, activitySlot.wake);
      Atomics.store(slots, activitySlot.watching, 0);
      if (Atomics.load(slots, activitySlot.active) === 0) await Atomics.waitAsync(slots, activitySlot.wake, wake).value;
      Atomics.store(slots, activitySlot.watching, 1);
      lastActive = Date.now();
    }
  }
}
