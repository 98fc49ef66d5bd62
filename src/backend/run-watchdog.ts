// Stops runs that reach the mount's run time limit. The thread making a run
// is blocked in KVM_RUN, so another must stop it: this watchdog on the JS
// main thread looks every few ms while runs happen and sleeps when none
// have for a while (Activity: SharedVcpu.run begins and ends one).
import { Activity } from '../sys/activity.js';
import type { SharedVcpu } from './shared-vcpu.js';

/** How often the watchdog looks while runs happen: a run ends at most this late. */
const POLL_MS = 10;
/** How long without runs before the watchdog sleeps. */
const IDLE_MS = 1000;

export class RunWatchdog {
  private readonly runs = new Activity();
  readonly activity = this.runs.buffer;
  private readonly vcpus = new Set<SharedVcpu>();
  private started = false;

  add(vcpu: SharedVcpu): void {
    this.vcpus.add(vcpu);
    if (!this.started) {
      this.started = true;
      void this.runs.watch((now) => {
        for (const each of this.vcpus) if (each.running && now >= each.deadline) each.stop();
      }, POLL_MS, IDLE_MS);
    }
  }

  delete(vcpu: SharedVcpu): void {
    this.vcpus.delete(vcpu);
  }
}
