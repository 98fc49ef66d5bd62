// Bounded resources (issue 14): runs that last each hold a reader thread,
// so a burst of them makes the session start more; once the burst is over
// and its VMs are gone, the readers beyond the base set leave (after 2 s
// with no request) and the daemon's threads and fds are back where a fresh
// mount's were. With FUSE over io_uring and without.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { daemonUsage, Mount, realModeVm, slowdown, type Usage } from './harness.js';
import * as guests from './guests.js';

/** Vcpus that spin at once, each with a `cat run` that lasts until `stop`: more than a CPU's base readers. */
const SPINNERS = 6;
/** How long the counts may take to come back: a spare reader leaves after 2 s idle. */
const SETTLE_MS = 10_000 * slowdown;

/** Waits until threads and fds are at most `fresh`'s, or SETTLE_MS passed; the last reading. */
async function backTo(mount: Mount, fresh: Usage): Promise<Usage> {
  const deadline = Date.now() + SETTLE_MS;
  let now = daemonUsage(mount);
  while (Date.now() < deadline && (now.threads > fresh.threads || now.fds > fresh.fds)) {
    await sleep(100);
    now = daemonUsage(mount);
  }
  return now;
}

describe.each([[[]], [['--no-io-uring']]])('readers started for a burst of runs leave once it is over (%j)', (args) => {
  it(`${SPINNERS} spinning vcpus add threads; after stop and rmdir, threads and fds are back to a fresh mount's`, async () => {
    const mount = await Mount.start(['--run-timeout', '0', ...args]);
    try {
      // a VM made and removed first: whatever the daemon starts lazily once is in `fresh`
      await realModeVm(mount, 'warm', guests.hello16);
      await mount.ok('cat "$M/warm/vcpu0/run" >/dev/null; rmdir "$M/warm"');
      await sleep(3000 * slowdown); // and any reader it started has left
      const base = daemonUsage(mount);

      const vms = Array.from({ length: SPINNERS }, (_, i) => `s${i}`);
      for (const vm of vms) await realModeVm(mount, vm, guests.spin);
      const runs = vms.map((vm) => mount.sh(`cat "$M/${vm}/vcpu0/run"`, { timeoutMs: 60_000 * slowdown }));
      await sleep(1000 * slowdown);
      const burst = daemonUsage(mount);
      await mount.ok(vms.map((vm) => `echo 1 > "$M/${vm}/vcpu0/stop"`).join('\n'));
      const ends = await Promise.all(runs);
      await mount.ok(`rmdir ${vms.map((vm) => `"$M/${vm}"`).join(' ')}`);
      const after = await backTo(mount, base);
      console.log(`resources ${JSON.stringify(args)}: base ${JSON.stringify(base)}, burst ${JSON.stringify(burst)}, after ${JSON.stringify(after)}`);

      // every run was a real one, ended by stop
      for (const end of ends) expect(end.stdout).toBe('intr\n');
      // the burst did add readers (a thread per held run)...
      expect(burst.threads).toBeGreaterThan(base.threads);
      // ...and they left: threads and fds exactly where they were before it
      expect(after.threads).toBeLessThanOrEqual(base.threads);
      expect(after.fds).toBeLessThanOrEqual(base.fds);
    } finally {
      await mount.stop();
    }
  }, 60_000 * slowdown);
});
