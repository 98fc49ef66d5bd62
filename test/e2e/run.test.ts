// vcpu<N>/run end to end: every exit kind the guests can produce, with the
// contract's exact line, and answers to `io in` / `mmio read` (one run per
// read: run-reads.test.ts; the hello guests: run-modes.test.ts; interrupt:
// run-interrupt.test.ts). Only shell tools touch the mount.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, realModeVm } from './harness.js';
import * as guests from './guests.js';
import { loadVm, outBytes, reg, runUntilHlt } from './guests.js';
import { lines } from './assert-helpers.js';

describe('run: exit lines', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  /** Runs `command` in a shell; it must fail with `errnoText` (strerror), at once. */
  async function fails(command: string, errnoText: string): Promise<void> {
    const result = await mount.sh(command);
    expect(result.code, `${command} should fail`).not.toBe(0);
    expect(result.stderr).toContain(errnoText);
  }

  it('io out of 1, 2 and 4 bytes: data padded to 2, 4, 8 hex digits; then hlt', async () => {
    await realModeVm(mount, 'outs', guests.outSizes);
    const out = await mount.ok(`for i in 1 2 3 4 5; do cat "$M/outs/vcpu0/run"; done`);
    expect(lines(out)).toEqual([
      'io out port=0x00e9 size=1 count=1 data=0x48',
      'io out port=0x00e9 size=2 count=1 data=0x1234',
      'io out port=0x00e9 size=4 count=1 data=0xdeadbeef',
      'io out port=0x0080 size=1 count=1 data=0x07',
      'hlt',
    ]);
    // rip is just past the hlt at 0x1016
    expect(reg(await mount.ok('cat "$M/outs/vcpu0/regs"'), 'rip')).toBe(0x1017n);
  });

  it('rep outsb: one data value per element, all of the string in order', async () => {
    await realModeVm(mount, 'outsb', guests.outsString);
    const out = lines(await mount.ok(runUntilHlt('outsb')));
    expect(out.at(-1)).toBe('hlt');
    const ios = out.slice(0, -1);
    let elements = 0;
    for (const line of ios) {
      const match = /^io out port=0x00e9 size=1 count=(\d+) data=((?:0x[0-9a-f]{2},)*0x[0-9a-f]{2})$/.exec(line);
      expect(match, line).not.toBeNull();
      // count elements of size bytes: exactly count comma-separated values
      expect(match![2]!.split(',').length).toBe(Number(match![1]));
      elements += Number(match![1]);
    }
    expect(elements).toBe(5);
    expect(Buffer.from(outBytes(ios)).toString('latin1')).toBe('Hello');
  });

  it('io in: the value written to run is what the guest reads', async () => {
    await realModeVm(mount, 'ein', guests.echoIn);
    const out = await mount.ok(`
      R="$M/ein/vcpu0/run"
      cat "$R"
      echo 0x41 > "$R"
      cat "$R"
      cat "$R"
      echo 0x89abcdef > "$R"
      cat "$R"
      cat "$R"
    `);
    expect(lines(out)).toEqual([
      'io in port=0x0060 size=1 count=1',
      'io out port=0x00e9 size=1 count=1 data=0x41',
      'io in port=0x0064 size=4 count=1',
      'io out port=0x00e9 size=4 count=1 data=0x89abcdef',
      'hlt',
    ]);
    expect(reg(await mount.ok('cat "$M/ein/vcpu0/regs"'), 'rax')).toBe(0x89abcdefn);
  });

  it('io in: an answer may be decimal, or the data= form of an exit line', async () => {
    await realModeVm(mount, 'ein2', guests.echoIn);
    const out = await mount.ok(`
      R="$M/ein2/vcpu0/run"
      cat "$R"; echo 66 > "$R"; cat "$R"
      cat "$R"; echo 'data=0x01020304' > "$R"; cat "$R"
    `);
    expect(lines(out)).toEqual([
      'io in port=0x0060 size=1 count=1',
      'io out port=0x00e9 size=1 count=1 data=0x42',
      'io in port=0x0064 size=4 count=1',
      'io out port=0x00e9 size=4 count=1 data=0x01020304',
    ]);
  });

  it('io in: running without a write delivers zeros', async () => {
    // the guest preloads al = 0xff and eax = 0xffffffff before each in
    await realModeVm(mount, 'ezero', guests.echoIn);
    const out = await mount.ok(`for i in 1 2 3 4 5; do cat "$M/ezero/vcpu0/run"; done`);
    expect(lines(out)).toEqual([
      'io in port=0x0060 size=1 count=1',
      'io out port=0x00e9 size=1 count=1 data=0x00',
      'io in port=0x0064 size=4 count=1',
      'io out port=0x00e9 size=4 count=1 data=0x00000000',
      'hlt',
    ]);
  });

  it('rep insb: count=3, answered with three values, which land in guest memory', async () => {
    await realModeVm(mount, 'ins', guests.insb3);
    const first = await mount.ok('cat "$M/ins/vcpu0/run"');
    expect(first).toBe('io in port=0x0060 size=1 count=3\n');
    await mount.ok('echo 1,2,3 > "$M/ins/vcpu0/run"');
    const rest = lines(await mount.ok(runUntilHlt('ins')));
    expect(rest.at(-1)).toBe('hlt');
    expect(outBytes(rest.slice(0, -1))).toEqual([1, 2, 3]);
    expect(await mount.ok('od -An -tx1 -j $((0x3000)) -N 3 "$M/ins/memory"')).toBe(' 01 02 03\n');
  });

  it('a wrong answer is EINVAL with last_error, and changes nothing', async () => {
    await realModeVm(mount, 'wrong', guests.insb3);
    const run = '"$M/wrong/vcpu0/run"';
    // nothing pending on a vcpu that never ran
    await fails(`echo 1 > ${run}`, 'Invalid argument');
    expect(await mount.ok('cat "$M/wrong/last_error"')).toMatch(/^vcpu0\/run: .*no io in or mmio read is waiting/);
    expect(await mount.ok(`cat ${run}`)).toBe('io in port=0x0060 size=1 count=3\n');
    await fails(`echo 1,2 > ${run}`, 'Invalid argument');
    expect(await mount.ok('cat "$M/wrong/last_error"')).toMatch(/^vcpu0\/run: .*expected 3 values.*got 2/);
    await fails(`echo 1,2,3,4 > ${run}`, 'Invalid argument');
    expect(await mount.ok('cat "$M/wrong/last_error"')).toMatch(/^vcpu0\/run: .*expected 3 values.*got 4/);
    await fails(`echo 1,2,256 > ${run}`, 'Invalid argument');
    expect(await mount.ok('cat "$M/wrong/last_error"')).toMatch(/^vcpu0\/run: .*out of range/);
    await fails(`echo 1,2,x > ${run}`, 'Invalid argument');
    await fails(`echo -1,2,3 > ${run}`, 'Invalid argument');
    // none of that reached the guest: the right answer still works
    await mount.ok(`echo 4,5,6 > ${run}`);
    const rest = lines(await mount.ok(runUntilHlt('wrong')));
    expect(outBytes(rest.slice(0, -1))).toEqual([4, 5, 6]);
    expect(rest.at(-1)).toBe('hlt');
    // after hlt nothing is pending any more
    await fails(`echo 1 > ${run}`, 'Invalid argument');
    expect(await mount.ok('cat "$M/wrong/last_error"')).toMatch(/^vcpu0\/run: .*no io in or mmio read is waiting/);
    // and after an io out neither
    await realModeVm(mount, 'wrong2', guests.outSizes);
    expect(await mount.ok('cat "$M/wrong2/vcpu0/run"')).toBe('io out port=0x00e9 size=1 count=1 data=0x48\n');
    await fails('echo 1 > "$M/wrong2/vcpu0/run"', 'Invalid argument');
  });

  it('mmio read outside RAM (32-bit protected mode), answered and seen by the guest; mmio writes of 4, 1, 2 bytes', async () => {
    await loadVm(mount, 'mmio', guests.mmio32, 'protected');
    const run = '"$M/mmio/vcpu0/run"';
    expect(await mount.ok(`cat ${run}`)).toBe('mmio read addr=0x00000000d0000000 len=4\n');
    // wrong answers first: two values, a value wider than len
    await fails(`echo 1,2 > ${run}`, 'Invalid argument');
    await fails(`echo 0x100000000 > ${run}`, 'Invalid argument');
    expect(await mount.ok('cat "$M/mmio/last_error"')).toMatch(/^vcpu0\/run: .*out of range/);
    await mount.ok(`echo 0x12345678 > ${run}`);
    const out = await mount.ok(`for i in 1 2 3 4; do cat ${run}; done`);
    expect(lines(out)).toEqual([
      // the guest writes back what it read
      'mmio write addr=0x00000000d0000000 len=4 data=0x12345678',
      'mmio write addr=0x00000000d0000010 len=1 data=0x5a',
      'mmio write addr=0x00000000d0000020 len=2 data=0xbeef',
      'hlt',
    ]);
    expect(reg(await mount.ok('cat "$M/mmio/vcpu0/regs"'), 'rax')).toBe(0x12345678n);
  });

  it('mmio read of an unbacked GPA below 1M (real mode, 64K of RAM)', async () => {
    await realModeVm(mount, 'mmio16', guests.mmio16, '64K');
    const out = await mount.ok(`
      R="$M/mmio16/vcpu0/run"
      cat "$R"
      echo 0x7e > "$R"
      cat "$R"
      cat "$R"
    `);
    expect(lines(out)).toEqual([
      'mmio read addr=0x0000000000020010 len=1',
      'io out port=0x00e9 size=1 count=1 data=0x7e',
      'hlt',
    ]);
    expect(await mount.ok('od -An -tx1 -j $((0x3000)) -N 1 "$M/mmio16/memory"')).toBe(' 7e\n');
  });

  it('shutdown from a triple fault; regs, sregs and memory stay readable', async () => {
    await loadVm(mount, 'tf', guests.tripleFault, 'protected');
    expect(await mount.ok('cat "$M/tf/vcpu0/run"')).toBe('shutdown\n');
    const regs = await mount.ok('cat "$M/tf/vcpu0/regs"');
    expect(lines(regs)).toHaveLength(18);
    expect(reg(regs, 'rip')).toBe(0x1007n); // the ud2, after the 7-byte lidt
    const sregs = await mount.ok('cat "$M/tf/vcpu0/sregs"');
    expect(sregs).toMatch(/^idt base=0x0000000000000000 limit=0x0000$/m);
    expect(sregs).toMatch(/^cr0 0x0000000000000011$/m);
    const code = await mount.ok(`od -An -v -tx1 -j 4096 -N ${guests.tripleFault.length} "$M/tf/memory"`);
    expect(code.trim().split(/\s+/).map((b) => parseInt(b, 16))).toEqual(guests.tripleFault);
    // memory still takes writes too
    await mount.ok('printf "\\x99" | dd of="$M/tf/memory" bs=1 seek=$((0x5000)) conv=notrunc status=none');
    expect(await mount.ok('od -An -tx1 -j $((0x5000)) -N 1 "$M/tf/memory"')).toBe(' 99\n');
  });

  it('internal_error: fetching code from a GPA with no memory', async () => {
    await realModeVm(mount, 'ie', guests.unbacked, '64K');
    expect(await mount.ok('cat "$M/ie/vcpu0/run"')).toBe('internal_error suberror=1\n');
    expect(lines(await mount.ok('cat "$M/ie/vcpu0/regs"'))).toHaveLength(18);
  });
});
