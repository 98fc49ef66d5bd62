// How requests reach kvmfs: FUSE over io_uring (one ring queue per CPU,
// served by reader threads pinned to that CPU) where the kernel has it, and
// /dev/fuse alone with --no-io-uring. The rest of the suite runs on the
// default; here the daemon's threads and io_uring fds are looked at from
// /proc, and /dev/fuse alone serves every kind of file.
import { accessSync, constants, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, realModeVm } from './harness.js';
import * as guests from './guests.js';

const cpus = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
const cpuCount = cpus.split(',').reduce((n, range) => {
  const [first, last = first] = range.split('-').map(Number) as [number, number?];
  return n + last - first + 1;
}, 0);
const ENABLE_URING = '/sys/module/fuse/parameters/enable_uring';
/** What kvmfs mount needs to take io_uring: the module parameter, on or ours to turn on. */
const uringAvailable = existsSync(ENABLE_URING) && (readFileSync(ENABLE_URING, 'utf8').trim() === 'Y' || writable(ENABLE_URING));

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The daemon's io_uring fds, each with its completion queue tail (how many requests its entry has received). */
function rings(pid: number): number[] {
  const tails: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (target !== 'anon_inode:[io_uring]') continue;
    const tail = /CqTail:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    tails.push(Number(tail?.[1] ?? 0));
  }
  return tails;
}

/** The daemon's own threads (not KVM's kvm-nx-lpage-recovery, which is in its task list too), by whether they may run on one CPU only. */
function threads(pid: number): { pinned: number; free: number } {
  const counts = { pinned: 0, free: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    if (/^Name:\s*kvm/m.test(status)) continue;
    if (/^Cpus_allowed_list:\s*\d+\s*$/m.test(status)) counts.pinned++;
    else counts.free++;
  }
  return counts;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const until = async (condition: () => boolean, ms = 3000) => {
  for (const deadline = Date.now() + ms; !condition() && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
  return condition();
};

describe.skipIf(!uringAvailable)('FUSE over io_uring (the default where the kernel has it)', () => {
  let mount: Mount;
  let pid: number;
  beforeAll(async () => {
    mount = await Mount.start(['--run-timeout', '0']);
    pid = mount.daemon.pid!;
    await realModeVm(mount, 'loop', [0xe6, 0xe9, 0xeb, 0xfc]); // out %al,$0xe9; jmp .-2
    await realModeVm(mount, 'spin', guests.spin);
    await realModeVm(mount, 'spin2', guests.spin);
  });
  afterAll(async () => { await mount.stop(); });

  it(`every CPU's queue (${cpus}) has two ring readers, each pinned to its CPU`, async () => {
    expect(await until(() => rings(pid).length === 2 * cpuCount)).toBe(true);
    if (cpuCount > 1) expect(threads(pid).pinned).toBe(2 * cpuCount);
  });

  it('run, regs and memory are served through the rings: 200 exits, regs and memory reads go by their completion queues', async () => {
    const before = sum(rings(pid));
    const out = await mount.ok(`
      for i in $(seq 200); do head -c 64 "$M/loop/vcpu0/run" > /dev/null; done
      head -c 64 "$M/loop/vcpu0/run"
      grep -c . "$M/loop/vcpu0/regs"
      dd if="$M/loop/memory" bs=4096 skip=1 count=1 status=none | head -c 4 | od -An -tx1
    `);
    expect(out).toMatch(/^io out port=0x00e9 size=1 count=1 data=0x00\n\d+\n e6 e9 eb fc\n$/);
    // each read is at least one request, besides the opens, lookups and closes
    expect(sum(rings(pid)) - before).toBeGreaterThanOrEqual(200);
    // an exit loop's runs end at once: no queue got another reader
    expect(rings(pid)).toHaveLength(2 * cpuCount);
  });

  it('a run that lasts may move to any CPU; its reader is pinned again after it', async () => {
    const before = threads(pid);
    const script = mount.ok(`
      trap 'echo 1 > "$M/spin/vcpu0/stop" 2>/dev/null || true; wait' EXIT
      cat "$M/spin/vcpu0/run" > /dev/null &
      sleep 0.5
      cat "$M/spin/vcpu0/regs" > /dev/null
    `);
    const unpinned = await until(() => threads(pid).free === before.free + 1, 450);
    await script; // it read regs while the guest ran, then its trap stopped the run
    if (cpuCount > 1) {
      expect(unpinned).toBe(true);
      expect(await until(() => threads(pid).free === before.free)).toBe(true);
    }
  });

  it('two runs that last, both from CPU 0, hold its queue: a request from CPU 0 then waits only until a third reader takes it', async () => {
    const out = await mount.ok(`
      trap 'echo 1 > "$M/spin/vcpu0/stop"; echo 1 > "$M/spin2/vcpu0/stop"; wait' EXIT
      taskset -c 0 cat "$M/spin/vcpu0/run" > /dev/null &
      taskset -c 0 cat "$M/spin2/vcpu0/run" > /dev/null &
      sleep 0.1
      t0=$(date +%s%N)
      taskset -c 0 grep -c . "$M/spin/vcpu0/regs"
      echo "ms=$(( ($(date +%s%N) - t0) / 1000000 ))"
    `, { timeoutMs: 5000 });
    expect(out).toMatch(/^\d+\nms=\d+\n$/);
    // the wait: 20 ms with no hold ending, then a thread's start; far from the 5 s a stuck request would take
    expect(Number(/ms=(\d+)/.exec(out)![1])).toBeLessThan(2000);
    expect(rings(pid).length).toBeGreaterThanOrEqual(2 * cpuCount + 1);
  });
});

describe('--no-io-uring: /dev/fuse alone', () => {
  let mount: Mount;
  beforeAll(async () => {
    mount = await Mount.start(['--no-io-uring', '--run-timeout', '0']);
    await realModeVm(mount, 'loop', [0xe6, 0xe9, 0xeb, 0xfc]);
    await realModeVm(mount, 'spin', guests.spin);
  });
  afterAll(async () => { await mount.stop(); });

  it('has no io_uring, and no pinned thread', () => {
    expect(rings(mount.daemon.pid!)).toEqual([]);
    if (cpuCount > 1) expect(threads(mount.daemon.pid!).pinned).toBe(0);
  });

  it('serves run, regs, memory, sregs writes and stop', async () => {
    const out = await mount.ok(`
      for i in $(seq 50); do head -c 64 "$M/loop/vcpu0/run" > /dev/null; done
      head -c 64 "$M/loop/vcpu0/run"
      echo 'rbx 0x1234' > "$M/loop/vcpu0/regs"
      grep '^rbx' "$M/loop/vcpu0/regs"
      printf '\\x90' | dd of="$M/loop/memory" bs=1 seek=8192 conv=notrunc status=none
      dd if="$M/loop/memory" bs=1 skip=8192 count=1 status=none | od -An -tx1
      cat "$M/spin/vcpu0/run" > /tmp/kvmfs-no-uring-run.$$ & reader=$!
      sleep 0.2
      echo 1 > "$M/spin/vcpu0/stop"
      wait $reader
      cat /tmp/kvmfs-no-uring-run.$$; rm /tmp/kvmfs-no-uring-run.$$
    `);
    expect(out).toBe('io out port=0x00e9 size=1 count=1 data=0x00\nrbx 0x0000000000001234\n 90\nintr\n');
  });
});
