// Stopping a run, and what the rest of the tree does while a vcpu runs
// (live regs/sregs, EBUSY for writes, memory, other VMs). Concurrency comes
// from background shell jobs; times are measured in the shell with
// date +%s%N.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, realModeVm } from './harness.js';
import * as guests from './guests.js';
import { outBytes, reg, runUntilHlt } from './guests.js';
import { lines } from './assert-helpers.js';
import { fields, WATCH_LOOP } from './run-control-helpers.js';

describe('stop and live inspection (--run-timeout 0: no limit)', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(['--run-timeout', '0']); });
  afterAll(async () => { await mount.stop(); });

  // Every script that starts a background run stops the vcpu on exit, so a
  // failing assertion never leaves a reader blocked forever.
  const releaseOnExit = (vm: string) => `trap 'echo 1 > "$M/${vm}/vcpu0/stop" 2>/dev/null || true; wait' EXIT`;

  it('a write to stop releases a blocked reader with intr well under 500 ms', async () => {
    await realModeVm(mount, 'spin', guests.spin);
    const out = await mount.ok(`
      ${releaseOnExit('spin')}
      T=$(mktemp -d)
      cat "$M/spin/vcpu0/run" > "$T/run" 2> "$T/err" & reader=$!
      sleep 0.4
      kill -0 $reader && echo "blocked=yes" || echo "blocked=no"
      t0=$(date +%s%N)
      echo 1 > "$M/spin/vcpu0/stop"
      wait $reader && status=0 || status=$?
      t1=$(date +%s%N)
      echo "status=$status ms=$(( (t1 - t0) / 1000000 )) out=$(cat "$T/run") err=$(wc -c < "$T/err")"
      rm -r "$T"
    `);
    const f = fields(out);
    expect(f).toMatchObject({ blocked: 'yes', status: '0', out: 'intr', err: '0' });
    expect(Number(f.ms)).toBeLessThan(500);
    // the guest is still in its loop and runs on after another read
    expect(reg(await mount.ok('cat "$M/spin/vcpu0/regs"'), 'rip')).toBe(0x1000n);
  });

  it('a signal to a blocked reader (Ctrl-C, kill) stops the vcpu: it is idle again at once', async () => {
    await realModeVm(mount, 'signalled', guests.spin);
    const out = await mount.ok(`
      ${releaseOnExit('signalled')}
      V="$M/signalled/vcpu0"
      cat "$V/run" > /dev/null & reader=$!
      sleep 0.4
      kill -0 $reader && echo "blocked=yes" || echo "blocked=no"
      t0=$(date +%s%N)
      kill -TERM $reader
      wait $reader || true
      # with --run-timeout 0 only the interrupt can end the run: state writes are EBUSY until it has
      for i in $(seq 1 200); do echo 'rbx 0x5' > "$V/regs" 2>/dev/null && break; sleep 0.005; done
      t1=$(date +%s%N)
      echo "ms=$(( (t1 - t0) / 1000000 )) rbx=$(grep '^rbx' "$V/regs" | cut -d' ' -f2)"
    `);
    const f = fields(out);
    expect(f).toMatchObject({ blocked: 'yes', rbx: '0x0000000000000005' });
    expect(Number(f.ms)).toBeLessThan(500);
  });

  it('stop on an idle vcpu succeeds and does nothing: the next run is a normal one', async () => {
    await realModeVm(mount, 'idle', guests.threeOuts);
    const out = await mount.ok(`
      V="$M/idle/vcpu0"
      echo 1 > "$V/stop"
      cat "$V/run"
      echo 1 > "$V/stop"
      echo anything > "$V/stop"
      cat "$V/run"
      cat "$V/run"
      echo 1 > "$V/stop"
      cat "$V/run"
    `);
    expect(lines(out)).toEqual([
      'io out port=0x00e9 size=1 count=1 data=0x41',
      'io out port=0x00e9 size=1 count=1 data=0x42',
      'io out port=0x00e9 size=1 count=1 data=0x43',
      'hlt',
    ]);
  });

  it('while a vcpu runs: regs/sregs read at once, writes are EBUSY at once, a second reader is refused, one intr after stop', async () => {
    await realModeVm(mount, 'live', guests.watch);
    const out = await mount.ok(`
      ${releaseOnExit('live')}
      V="$M/live"
      T=$(mktemp -d)
      cat "$V/vcpu0/run" > "$T/run" & reader=$!
      sleep 0.3
      # 20 snapshots of regs and sregs while it runs, each timed
      worst=0
      for i in $(seq 1 20); do
        t0=$(date +%s%N)
        cat "$V/vcpu0/regs" > "$T/regs"
        cat "$V/vcpu0/sregs" > "$T/sregs"
        t1=$(date +%s%N)
        ms=$(( (t1 - t0) / 1000000 )); [ $ms -gt $worst ] && worst=$ms
        grep '^rip ' "$T/regs" >> "$T/rips"
      done
      echo "worst_read_ms=$worst"
      echo "regs_lines=$(wc -l < "$T/regs") sregs_lines=$(wc -l < "$T/sregs")"
      grep -c '^cs base=0x0000000000000000 ' "$T/sregs" | sed 's/^/sregs_cs=/'
      # state writes fail at once with EBUSY
      t0=$(date +%s%N)
      echo 'rax 1' > "$V/vcpu0/regs" 2> "$T/err1" && echo "regs_write=ok" || echo "regs_write=failed"
      echo 'cr0 0x11' > "$V/vcpu0/sregs" 2> "$T/err2" && echo "sregs_write=ok" || echo "sregs_write=failed"
      echo 0x41 > "$V/vcpu0/run" 2> "$T/err3" && echo "run_write=ok" || echo "run_write=failed"
      t1=$(date +%s%N)
      echo "busy_ms=$(( (t1 - t0) / 1000000 ))"
      { grep -c 'Device or resource busy' "$T/err1" "$T/err2" "$T/err3" || true; } | sed 's/.*err\\([0-9]\\):/busy\\1=/'
      sed 's/ /_/g; s/^/vm_last_error=/' "$V/last_error"
      # a second reader of the same run is refused, the first goes on
      cat "$V/vcpu0/run" 2> "$T/err4" && echo "second_run=ok" || echo "second_run=failed"
      { grep -c 'Device or resource busy' "$T/err4" || true; } | sed 's/^/busy4=/'
      kill -0 $reader && echo "still_running=yes" || echo "still_running=no"
      echo 1 > "$V/vcpu0/stop"
      wait $reader
      echo "run_output=$(tr '\\n' '+' < "$T/run")"
      sed 's/^rip /rip=/' "$T/rips" | sort -u | tr '\\n' ' '
      rm -r "$T"
    `);
    const f = fields(out.replace(/rip=0x[0-9a-f]+/g, ''));
    // A bound that tells "paused and answered" from "blocked until the run
    // ends" on a loaded 2-core machine; the real figures are the benchmark's.
    expect(Number(f.worst_read_ms)).toBeLessThan(3000);
    expect(f).toMatchObject({ regs_lines: '18', sregs_lines: '18', sregs_cs: '1' });
    expect(f).toMatchObject({ regs_write: 'failed', sregs_write: 'failed', run_write: 'failed', busy1: '1', busy2: '1', busy3: '1' });
    expect(Number(f.busy_ms)).toBeLessThan(3000);
    // the last failed write on the VM was the answer to run
    expect(f.vm_last_error).toMatch(/^vcpu0\/run:_./);
    expect(f).toMatchObject({ second_run: 'failed', busy4: '1', still_running: 'yes' });
    // all those snapshots did not end the run or add an exit: exactly one intr
    expect(f.run_output).toBe('intr+');
    const rips = [...out.matchAll(/rip=(0x[0-9a-f]+)/g)].map((m) => BigInt(m[1]!));
    expect(rips.length).toBeGreaterThan(0);
    for (const rip of rips) {
      expect(rip).toBeGreaterThanOrEqual(WATCH_LOOP[0]);
      expect(rip).toBeLessThanOrEqual(WATCH_LOOP[1]);
    }
    // after the stop, writes work again and the VM can be removed
    await mount.ok('echo "rax 1" > "$M/live/vcpu0/regs" && rmdir "$M/live" && ! ls "$M/live" 2>/dev/null');
    expect(await mount.ok('ls "$M"')).not.toMatch(/^live$/m);
  });

  it('memory is readable and writable while the vcpu runs; another VM runs normally meanwhile', async () => {
    await realModeVm(mount, 'mem', guests.watch);
    await realModeVm(mount, 'other', guests.hello16);
    const out = await mount.ok(`
      ${releaseOnExit('mem')}
      V="$M/mem"
      T=$(mktemp -d)
      cat "$V/vcpu0/run" > "$T/run" & reader=$!
      sleep 0.2
      c1=$(od -An -tu4 -j $((0x2000)) -N 4 "$V/memory")
      sleep 0.1
      c2=$(od -An -tu4 -j $((0x2000)) -N 4 "$V/memory")
      echo "c1=$((c1)) c2=$((c2))"
      # the other VM, start to hlt, while this one spins
      { ${runUntilHlt('other')}
      } > "$T/other"
      echo "other=$(tail -n1 "$T/other") other_lines=$(wc -l < "$T/other")"
      kill -0 $reader && echo "still_running=yes" || echo "still_running=no"
      # releasing the guest through memory: it outs the byte it saw and halts
      printf '\\x77' | dd of="$V/memory" bs=1 seek=$((0x2100)) conv=notrunc status=none
      wait $reader
      echo "run_output=$(cat "$T/run" | tr ' ' '_')"
      sed 's/^/OTHER /' "$T/other"
      rm -r "$T"
    `);
    const f = fields(out.split('\n').filter((l) => !l.startsWith('OTHER ')).join('\n'));
    expect(Number(f.c1)).toBeGreaterThan(0);
    expect(Number(f.c2)).toBeGreaterThan(Number(f.c1));
    expect(f).toMatchObject({ other: 'hlt', still_running: 'yes' });
    expect(f.run_output).toBe('io_out_port=0x00e9_size=1_count=1_data=0x77');
    const other = out.split('\n').filter((l) => l.startsWith('OTHER ')).map((l) => l.slice(6));
    expect(Buffer.from(outBytes(other)).toString('latin1')).toBe('Hello from real mode!\n');
    expect(await mount.ok('cat "$M/mem/vcpu0/run"')).toBe('hlt\n');
  });

  it('interrupt on a running vcpu: the guest takes it at once and the run returns the handler\'s exit', async () => {
    await realModeVm(mount, 'irq', guests.interruptSpin);
    const out = await mount.ok(`
      ${releaseOnExit('irq')}
      V="$M/irq/vcpu0"
      T=$(mktemp -d)
      cat "$V/run" > "$T/run" & reader=$!
      sleep 0.3
      kill -0 $reader && echo "blocked=yes" || echo "blocked=no"
      t0=$(date +%s%N)
      echo 32 > "$V/interrupt"
      wait $reader
      t1=$(date +%s%N)
      echo "ms=$(( (t1 - t0) / 1000000 )) run=$(tr ' ' _ < "$T/run")"
      rm -r "$T"
    `);
    const f = fields(out);
    expect(f).toMatchObject({ blocked: 'yes', run: 'io_out_port=0x00e9_size=1_count=1_data=0x01' });
    expect(Number(f.ms)).toBeLessThan(500);
    // the exit is the handler's out: rip is at its iret
    expect(reg(await mount.ok('cat "$M/irq/vcpu0/regs"'), 'rip')).toBe(0x101bn);
  });

  it('a stopped run resumes on the next read: stop, then release through memory', async () => {
    await realModeVm(mount, 'resume', guests.watch);
    const out = await mount.ok(`
      ${releaseOnExit('resume')}
      V="$M/resume"
      T=$(mktemp -d)
      cat "$V/vcpu0/run" > "$T/run1" & reader=$!
      sleep 0.2
      echo 1 > "$V/vcpu0/stop"; wait $reader
      c1=$(od -An -tu4 -j $((0x2000)) -N 4 "$V/memory")
      cat "$V/vcpu0/run" > "$T/run2" & reader=$!
      sleep 0.2
      printf '\\x01' | dd of="$V/memory" bs=1 seek=$((0x2100)) conv=notrunc status=none
      wait $reader
      c2=$(od -An -tu4 -j $((0x2000)) -N 4 "$V/memory")
      echo "run1=$(cat "$T/run1") run2=$(cat "$T/run2" | tr ' ' '_') c1=$((c1)) c2=$((c2))"
      rm -r "$T"
    `);
    const f = fields(out);
    expect(f.run1).toBe('intr');
    expect(f.run2).toBe('io_out_port=0x00e9_size=1_count=1_data=0x01');
    expect(Number(f.c2)).toBeGreaterThan(Number(f.c1));
  });
});
