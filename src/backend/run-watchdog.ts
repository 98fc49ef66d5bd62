// Stops runs that reach the mount's run time limit. The thread making a run
// is blocked in KVM_RUN, so another must stop it: this watchdog on the JS
// main thread looks every few ms while runs happen, and sleeps when none
// have for a while; the first run after that wakes it (activitySlot), so an
// idle mount costs no CPU and a busy one no wake-up per run.
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
  }

  private async watch(): Promise<void> {
    const slots = this.slots;
    let lastActive = Date.now();
    Atomics.store(slots, activitySlot.watching, 1);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS).unref());
      const now = Date.now();
      for (const vcpu of this.vcpus) if (vcpu.running && now >= vcpu.deadline) vcpu.stop();
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
