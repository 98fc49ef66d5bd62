// Controlling a run end to end: the run time limit, and rmdir of a VM while
// its vcpu runs (stop and live inspection: run-stop.test.ts). Concurrency
// comes from background shell jobs; times are measured in the shell with
// date +%s%N.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, realModeVm } from './harness.js';
import * as guests from './guests.js';
import { lines } from './assert-helpers.js';
import { fields, WATCH_LOOP } from './run-control-helpers.js';

/** Shell: milliseconds since the epoch. */
const NOW_MS = '$(( $(date +%s%N) / 1000000 ))';

describe('run time limit (--run-timeout 200)', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(['--run-timeout', '200']); });
  afterAll(async () => { await mount.stop(); });

  it('a spinning guest returns intr after ~200 ms, and the next read resumes it', async () => {
    await realModeVm(mount, 'spin', guests.spin);
    const out = await mount.ok(`
      R="$M/spin/vcpu0/run"
      t0=${NOW_MS}; first=$(cat "$R"); t1=${NOW_MS}
      rip1=$(grep '^rip ' "$M/spin/vcpu0/regs" | cut -d' ' -f2)
      second=$(cat "$R"); t2=${NOW_MS}
      rip2=$(grep '^rip ' "$M/spin/vcpu0/regs" | cut -d' ' -f2)
      echo "first=$first second=$second ms1=$((t1 - t0)) ms2=$((t2 - t1)) rip1=$rip1 rip2=$rip2"
    `);
    const f = fields(out);
    expect(f.first).toBe('intr');
    expect(f.second).toBe('intr');
    for (const ms of [Number(f.ms1), Number(f.ms2)]) {
      expect(ms).toBeGreaterThanOrEqual(190);
      expect(ms).toBeLessThan(700);
    }
    // jmp . at 0x1000: the guest is still in its loop
    expect(BigInt(f.rip1!)).toBe(0x1000n);
    expect(BigInt(f.rip2!)).toBe(0x1000n);
  });

  it('intr keeps the guest state: a spinning guest resumes where it was and sees a memory write', async () => {
    await realModeVm(mount, 'watch', guests.watch);
    const out = await mount.ok(`
      V="$M/watch"
      cat "$V/vcpu0/run"
      c1=$(od -An -tu4 -j $((0x2000)) -N 4 "$V/memory")
      cat "$V/vcpu0/run"
      c2=$(od -An -tu4 -j $((0x2000)) -N 4 "$V/memory")
      echo "counters" $c1 $c2
      grep '^rip ' "$V/vcpu0/regs"
      printf '\\x5a' | dd of="$V/memory" bs=1 seek=$((0x2100)) conv=notrunc status=none
      cat "$V/vcpu0/run"
      cat "$V/vcpu0/run"
    `);
    const [intr1, intr2, counters, rip, io, hlt] = lines(out);
    expect([intr1, intr2]).toEqual(['intr', 'intr']);
    const [c1, c2] = counters!.split(' ').slice(1).map(Number);
    // the counter kept counting from where it was (it is not reset by a new run)
    expect(c1).toBeGreaterThan(0);
    expect(c2).toBeGreaterThan(c1!);
    const ripValue = BigInt(rip!.split(' ')[1]!);
    expect(ripValue).toBeGreaterThanOrEqual(WATCH_LOOP[0]);
    expect(ripValue).toBeLessThanOrEqual(WATCH_LOOP[1]);
    expect(io).toBe('io out port=0x00e9 size=1 count=1 data=0x5a');
    expect(hlt).toBe('hlt');
  });
});

describe('rmdir of a VM while its vcpu runs', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  it('is EBUSY at once and changes nothing; after stop the rmdir goes through and the reader got intr', async () => {
    await realModeVm(mount, 'busy', guests.watch);
    const out = await mount.ok(`
      V="$M/busy"
      T=$(mktemp -d)
      cat "$V/vcpu0/run" > "$T/run" & reader=$!
      sleep 0.2
      t0=$(date +%s%N)
      rmdir "$V" 2> "$T/err" && echo "first=ok" || echo "first=failed"
      t1=$(date +%s%N)
      echo "rmdir_ms=$(( (t1 - t0) / 1000000 ))"
      echo "busy=$(grep -c 'Device or resource busy' "$T/err" || true)"
      [ -d "$V" ] && echo "vm_after_busy=yes" || echo "vm_after_busy=no"
      echo "last_error=$(grep -c '^busy: a vcpu of this VM is running (write its stop file first)$' "$M/last_error")"
      echo 1 > "$V/vcpu0/stop"
      wait $reader && echo "reader=ok" || echo "reader=failed"
      echo "run_output=$(cat "$T/run")"
      rmdir "$V" && echo "second=ok" || echo "second=failed"
      [ -d "$V" ] && echo "vm_exists=yes" || echo "vm_exists=no"
      rm -r "$T"
    `, { timeoutMs: 10_000 });
    const f = fields(out);
    expect(f).toMatchObject({
      first: 'failed', busy: '1', vm_after_busy: 'yes', reader: 'ok', run_output: 'intr', second: 'ok', vm_exists: 'no',
      last_error: '1',
    });
    expect(Number(f.rmdir_ms)).toBeLessThan(500);
  });
});
