// console_ports and console end to end: guests whose port writes the
// daemon consumes where the vcpu runs (no run exit for them), `tail -f`
// following the console while the guest writes, a chatty guest still
// stopped by the run time limit, and bad writes that change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, realModeVm, slowdown } from './harness.js';
import { fails, PRINTF, scratchDir } from './assert-helpers.js';
import { chatty, thousandLines, thousandLinesText, ticks } from './guests-console.js';

const lines = (text: string): string[] => text.trimEnd().split('\n');

describe('console (--run-timeout 0)', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(['--run-timeout', '0']); });
  afterAll(async () => { await mount.stop(); });

  it('1000 lines of guest output land in console with a single run exit', async () => {
    await realModeVm(mount, 'lines', thousandLines);
    const out = await mount.ok(`
      V="$M/lines"
      echo 0xe9 > "$V/console_ports"
      cat "$V/console_ports"
      cat "$V/vcpu0/run"
      stat -c %s "$V/console"
      cat "$V/vcpu0/run"
    `, { timeoutMs: 60_000 });
    // the one exit is the unlisted port 0x80, after the 10000 bytes to 0xe9
    expect(lines(out)).toEqual(['0x00e9', 'io out port=0x0080 size=1 count=1 data=0x00', '10000', 'hlt']);
    expect(await mount.ok('cat "$M/lines/console"')).toBe(thousandLinesText);
    expect(await mount.ok('tail -n 2 "$M/lines/console"')).toBe('line 0998\nline 0999\n');
  });

  it('with no ports (the default, or after "none") every port write comes back from run, and console stays empty', async () => {
    await realModeVm(mount, 'plain', thousandLines);
    const out = await mount.ok(`
      V="$M/plain"
      echo "[$(cat "$V/console_ports")]"
      echo 0xe9 > "$V/console_ports"; echo none > "$V/console_ports"
      echo "[$(cat "$V/console_ports")]"
      cat "$V/vcpu0/run"
      stat -c %s "$V/console"
    `);
    const [before, after, exit, size] = lines(out);
    expect([before, after]).toEqual(['[]', '[]']);
    // the first byte of "line 0000\n" (rep outsb: however many elements KVM gives at once)
    expect(exit).toMatch(/^io out port=0x00e9 size=1 count=\d+ data=0x6c/);
    expect(size).toBe('0');
  });

  it('tail -f console follows the guest as it writes, while its run goes on', async () => {
    await realModeVm(mount, 'ticks', ticks);
    const scratch = scratchDir();
    try {
      // The guest prints tick N, then waits for the byte at 0x3000 to change
      // before tick N+1: tail must show each tick while the run is still in progress.
      const out = await mount.ok(`
        V="$M/ticks"; T="${scratch.dir}"
        echo 0xe9 > "$V/console_ports"
        tail -s 0.1 -f "$V/console" > "$T/tail" & TAIL=$!
        cat "$V/vcpu0/run" > "$T/run" & RUN=$!
        for i in 1 2 3 4 5; do
          for n in $(seq ${400 * slowdown}); do grep -qx "tick $i" "$T/tail" && break; sleep 0.05; done
          echo "tick $i: tail shows $(wc -l < "$T/tail") lines, run ended: $([ -s "$T/run" ] && echo yes || echo no)"
          if [ $i -lt 5 ]; then ${PRINTF} "\\\\x0$i" | dd of="$V/memory" bs=1 seek=$((0x3000)) conv=notrunc status=none; fi
        done
        wait $RUN
        kill $TAIL
        cat "$T/run"
        cat "$T/tail"
      `, { timeoutMs: 60_000 });
      const [t1, t2, t3, t4, , exit, ...tail] = lines(out);
      expect([t1, t2, t3, t4]).toEqual([1, 2, 3, 4].map((n) => `tick ${n}: tail shows ${n} lines, run ended: no`));
      expect(exit).toBe('hlt');
      expect(tail).toEqual([1, 2, 3, 4, 5].map((n) => `tick ${n}`));
    } finally {
      scratch.remove();
    }
  });

  it('stop ends the run of a guest that writes to its console for ever', async () => {
    await realModeVm(mount, 'chatty', chatty);
    const out = await mount.ok(`
      V="$M/chatty"
      echo 0xe9 > "$V/console_ports"
      ( cat "$V/vcpu0/run"; echo ended ) & READER=$!
      until [ "$(stat -c %s "$V/console")" -gt 1000 ]; do sleep 0.01; done
      echo stop > "$V/vcpu0/stop"
      wait $READER
    `);
    expect(lines(out)).toEqual(['intr', 'ended']);
  });

  it('bad writes to console_ports fail with EINVAL, change nothing, and say why in last_error', async () => {
    await mount.ok('mkdir "$M/bad"; echo "0xe9 0x3f8" > "$M/bad/console_ports"');
    for (const [text, reason] of [
      ['0x10000', 'line 1: value 0x10000 out of range for 16 bits'],
      ['0x80\\ncom1', 'line 2: bad number "com1"'],
      ['0x80 none', 'line 1: "none" must be the only word of the write'],
    ] as const) {
      await fails(mount, `${PRINTF} '${text}\\n' > "$M/bad/console_ports"`, 'Invalid argument');
      expect(await mount.ok('cat "$M/bad/last_error"')).toBe(`console_ports: ${reason}\n`);
      expect(await mount.ok('cat "$M/bad/console_ports"')).toBe('0x00e9\n0x03f8\n');
    }
    // console is read-only, even for root
    await fails(mount, 'echo hi > "$M/bad/console"', 'Permission denied');
    expect(await mount.ok('stat -c %s "$M/bad/console"')).toBe('0\n');
  });
});

describe('console with a run time limit (--run-timeout 200)', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(['--run-timeout', '200']); });
  afterAll(async () => { await mount.stop(); });

  it('a guest that writes to its console for ever still returns intr at the limit, and resumes where it was', async () => {
    await realModeVm(mount, 'chatty', chatty);
    const out = await mount.ok(`
      V="$M/chatty"
      echo 0xe9 > "$V/console_ports"
      cat "$V/vcpu0/run"; s1=$(stat -c %s "$V/console")
      cat "$V/vcpu0/run"; s2=$(stat -c %s "$V/console")
      echo "$s1 $s2"
    `);
    const [first, second, sizes] = lines(out);
    expect([first, second]).toEqual(['intr', 'intr']);
    const [s1, s2] = sizes!.split(' ').map(Number);
    expect(s1).toBeGreaterThan(0);
    expect(s2).toBeGreaterThan(s1!);
    // nothing lost or repeated across the stops: the console is "chat!\n" over and over
    // (past 1 MiB the oldest bytes read as zeros)
    const text = await mount.ok('cat "$M/chatty/console"');
    expect(text.length).toBeGreaterThanOrEqual(s2!);
    const keptFrom = text.length - text.replace(/^\0+/, '').length;
    expect(text.slice(keptFrom)).toBe('chat!\n'.repeat(Math.ceil(text.length / 6)).slice(keptFrom, text.length));
  });
});
