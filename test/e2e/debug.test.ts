// The debug and translate files through a real mount: single-stepping from
// the shell, a hardware breakpoint hit and passed, a watchpoint hit by the
// guest's store, translate against page tables written through memory, and
// bad input that changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, realModeVm } from './harness.js';
import { fails, PRINTF } from './assert-helpers.js';
import { longModeSregs, printfBytes, reg, u64 } from './guests.js';
import { doctor, sayWatchpointsSkipped, watchLine, watchpointsHonoured } from './host-debug.js';
import { DATA_X, DATA_Y, int3Guest, pagedTables, PTE_402000, readMapped64, steps16 } from './guests-debug.js';

const ALL_OFF = 'singlestep 0\nsw_breakpoints 0\nhw0 off\nhw1 off\nhw2 off\nhw3 off\n';
const H16 = '0x[0-9a-f]{16}';
/** A debug exit line at `pc`; dr6 and dr7 are returned for the bit checks. */
function debugExit(line: string, pc: number): { dr6: bigint; dr7: bigint } {
  const match = new RegExp(`^debug pc=(${H16}) exception=1 dr6=(${H16}) dr7=(${H16})$`).exec(line.trim());
  expect(match, `a debug exit at 0x${pc.toString(16)} (a breakpoint or step the host KVM honoured), got: ${line.trim()}`).not.toBeNull();
  expect(BigInt(match![1]!)).toBe(BigInt(pc));
  return { dr6: BigInt(match![2]!), dr7: BigInt(match![3]!) };
}
const DR6_BS = 0x4000n;

if (watchLine && !watchpointsHonoured) sayWatchpointsSkipped('"a write watchpoint stops the guest"');

let mount: Mount;
beforeAll(async () => {
  mount = await Mount.start();
});
afterAll(async () => {
  await mount.stop();
});

describe('debug', () => {
  it('a new vcpu has everything off', async () => {
    await realModeVm(mount, 'fresh', steps16);
    expect(await mount.ok('cat "$M/fresh/vcpu0/debug"')).toBe(ALL_OFF);
  });

  it('single-steps the guest one instruction per cat run', async () => {
    await realModeVm(mount, 'step', steps16);
    const C = '"$M/step/vcpu0"';
    await mount.ok(`echo 'singlestep 1' > ${C}/debug`);
    expect(await mount.ok(`cat ${C}/debug`)).toBe(ALL_OFF.replace('singlestep 0', 'singlestep 1'));
    for (const [pc, ax] of [[0x1003, 1n], [0x1004, 2n], [0x1006, 4n], [0x1009, 4n]] as const) {
      const { dr6 } = debugExit(await mount.ok(`cat ${C}/run`), pc);
      expect(dr6 & DR6_BS).toBe(DR6_BS);
      const regs = await mount.ok(`cat ${C}/regs`);
      expect(reg(regs, 'rip')).toBe(BigInt(pc));
      expect(reg(regs, 'rax') & 0xffffn).toBe(ax);
    }
    // The store of the fourth instruction is in memory after its step.
    expect(await mount.ok('od -An -tx2 -j 0x2000 -N 2 "$M/step/memory"')).toBe(' 0004\n');
    await mount.ok(`echo 'singlestep 0' > ${C}/debug`);
    expect(await mount.ok(`cat ${C}/run`)).toBe('hlt\n');
  });

  it('stops at a hardware breakpoint, and the next cat run goes on', async () => {
    await realModeVm(mount, 'break', steps16);
    const C = '"$M/break/vcpu0"';
    await mount.ok(`echo 'hw2 addr=0x1004' > ${C}/debug`);
    expect(await mount.ok(`cat ${C}/debug`)).toBe(ALL_OFF.replace('hw2 off', 'hw2 addr=0x0000000000001004 type=exec len=1'));
    const { dr6 } = debugExit(await mount.ok(`cat ${C}/run`), 0x1004);
    expect(dr6 & 0xfn).toBe(0x4n); // B2: slot 2 matched
    expect(reg(await mount.ok(`cat ${C}/regs`), 'rax') & 0xffffn).toBe(2n); // ran up to it, not past it
    // Stepped over with the breakpoint off for one instruction, then on to the end.
    expect(await mount.ok(`cat ${C}/run`)).toBe('hlt\n');
    expect(await mount.ok('od -An -tx2 -j 0x2000 -N 2 "$M/break/memory"')).toBe(' 0004\n');
    // The breakpoint is still set: from the start again, it stops there again.
    await mount.ok(`echo 'rip 0x1000' > ${C}/regs`);
    debugExit(await mount.ok(`cat ${C}/run`), 0x1004);
    // With singlestep too, the step over it is the one instruction a run makes.
    await mount.ok(`echo 'singlestep 1' > ${C}/debug`);
    debugExit(await mount.ok(`cat ${C}/run`), 0x1006);
  });

  it.skipIf(!watchpointsHonoured)('a write watchpoint stops the guest right after its store', async () => {
    await realModeVm(mount, 'watch', steps16);
    const C = '"$M/watch/vcpu0"';
    await mount.ok(`echo 'hw1 addr=0x2000 type=write len=2' > ${C}/debug`);
    const { dr6 } = debugExit(await mount.ok(`cat ${C}/run`), 0x1009);
    expect(dr6 & 0xfn).toBe(0x2n); // B1
    expect(await mount.ok('od -An -tx2 -j 0x2000 -N 2 "$M/watch/memory"')).toBe(' 0004\n');
    expect(await mount.ok(`cat ${C}/run`)).toBe('hlt\n');
  });

  it('rejects bad input whole, changing nothing, and says why', async () => {
    await realModeVm(mount, 'bad', steps16);
    const C = '"$M/bad/vcpu0"';
    await mount.ok(`echo 'hw0 addr=0x1004' > ${C}/debug`);
    const before = await mount.ok(`cat ${C}/debug`);
    for (const [text, reason] of [
      ['singlestep 1\\nhw1 addr=0x2002 type=write len=4\\n', 'line 2: hw1: addr 0x0000000000002002 is not aligned to len=4'],
      ['hw0 off\\nhw5 off\\n', 'line 2: unknown setting "hw5" (singlestep, sw_breakpoints, hw0..hw3)'],
      ['singlestep yes\\n', 'line 1: singlestep: expected 0 or 1'],
      ['hw3 type=read\\n', 'line 1: hw3 type: "read" is not one of exec, write, rw, io'],
    ]) {
      await fails(mount, `${PRINTF} '${text}' > ${C}/debug`, 'Invalid argument');
      expect(await mount.ok(`cat ${C}/debug`)).toBe(before);
      expect(await mount.ok('cat "$M/bad/last_error"')).toBe(`vcpu0/debug: ${reason}\n`);
    }
    // Nothing changed for the guest either: no single step (the first write's line 1), the old breakpoint stops it.
    debugExit(await mount.ok(`cat ${C}/run`), 0x1004);
  });
});

describe('what doctor says of this host', () => {
  it('kvmfs doctor says whether KVM honours write watchpoints, and a store under one does what it says', async () => {
    expect(watchLine, doctor).not.toBeNull();
    await realModeVm(mount, 'watchprobe', steps16);
    await mount.ok(`echo 'hw1 addr=0x2000 type=write len=2' > "$M/watchprobe/vcpu0/debug"`);
    const exit = await mount.ok('cat "$M/watchprobe/vcpu0/run"');
    if (watchpointsHonoured) debugExit(exit, 0x1009);
    else expect(exit).toBe('hlt\n'); // ran past the store: the watchpoint test above is skipped, loudly
  });

  it('kvmfs doctor says whether KVM honours sw_breakpoints, and an int3 in the guest does what it says', async () => {
    const line = /^ok {4}software breakpoints: KVM_GUESTDBG_USE_SW_BP (honoured|not honoured): .+$/m.exec(doctor);
    expect(line, doctor).not.toBeNull();
    await realModeVm(mount, 'int3', int3Guest);
    await mount.ok('echo "sw_breakpoints 1" > "$M/int3/vcpu0/debug"');
    const exit = await mount.ok('cat "$M/int3/vcpu0/run"');
    if (line![1] === 'honoured') expect(exit).toMatch(/^debug pc=0x000000000000100f exception=3 /);
    else expect(exit).toBe('io out port=0x0080 size=1 count=1 data=0x03\n'); // the guest's own vector 3 ran
  });
});

describe('translate', () => {
  const V = '"$M/paged"';
  beforeAll(async () => {
    const tables = pagedTables.map(([gpa, entry]) => `${PRINTF} '${printfBytes(entry)}' | dd of=${V}/memory bs=1 seek=${gpa} conv=notrunc status=none`).join('\n');
    await mount.ok(`
      mkdir ${V} && truncate -s 1M ${V}/memory && mkdir ${V}/vcpu0
      ${PRINTF} '${printfBytes(readMapped64)}' | dd of=${V}/memory bs=4096 seek=1 conv=notrunc status=none
      ${tables}
      ${PRINTF} 'X' | dd of=${V}/memory bs=1 seek=${DATA_X} conv=notrunc status=none
      ${PRINTF} 'Y' | dd of=${V}/memory bs=1 seek=${DATA_Y} conv=notrunc status=none
      cat > ${V}/vcpu0/sregs <<'SREGS'
${longModeSregs}SREGS
      echo 'rip 0x401000' > ${V}/vcpu0/regs
    `);
  });

  it('translates rip before any write, with the page tables in memory', async () => {
    expect(await mount.ok(`cat ${V}/vcpu0/translate`)).toMatch(/^0x0000000000401000 gpa=0x0000000000001000 valid=1 writeable=[01] usermode=[01]\n$/);
  });

  it('translates what was written, mapped or not; the guest reads where it says', async () => {
    await mount.ok(`${PRINTF} '0x401000\\n0x402000\\n0x402abc\\n0x403000\\n0x800000\\n' > ${V}/vcpu0/translate`);
    const lines = (await mount.ok(`cat ${V}/vcpu0/translate`)).trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^0x0000000000401000 gpa=0x0000000000001000 valid=1 /);
    expect(lines[1]).toMatch(/^0x0000000000402000 gpa=0x0000000000006000 valid=1 /);
    expect(lines[2]).toMatch(/^0x0000000000402abc gpa=0x0000000000006abc valid=1 /);
    expect(lines[3]).toMatch(/^0x0000000000403000 gpa=0x[0-9a-f]{16} valid=0 /); // PT entry not present
    expect(lines[4]).toMatch(/^0x0000000000800000 gpa=0x[0-9a-f]{16} valid=0 /); // PD entry not present
    expect(await mount.ok(`cat ${V}/vcpu0/run`)).toBe('io out port=0x00e9 size=1 count=1 data=0x58\n'); // 'X', at 0x6000
  });

  it('follows a remap written through memory, and so does the guest', async () => {
    await mount.ok(`${PRINTF} '${printfBytes(u64(BigInt(DATA_Y) | 1n))}' | dd of=${V}/memory bs=1 seek=${PTE_402000} conv=notrunc status=none`);
    await mount.ok(`echo 0x402000 > ${V}/vcpu0/translate`);
    expect(await mount.ok(`cat ${V}/vcpu0/translate`)).toMatch(/^0x0000000000402000 gpa=0x0000000000007000 valid=1 writeable=[01] usermode=[01]\n$/);
    await mount.ok(`echo 'rip 0x401000' > ${V}/vcpu0/regs`);
    expect(await mount.ok(`cat ${V}/vcpu0/run`)).toBe('io out port=0x00e9 size=1 count=1 data=0x59\n'); // 'Y', at 0x7000
  });

  it('a read can be written back; bad input changes nothing', async () => {
    const answer = await mount.ok(`cat ${V}/vcpu0/translate`);
    await mount.ok(`cat ${V}/vcpu0/translate > /tmp/kvmfs-translate-$$ && cat /tmp/kvmfs-translate-$$ > ${V}/vcpu0/translate; rm -f /tmp/kvmfs-translate-$$`);
    expect(await mount.ok(`cat ${V}/vcpu0/translate`)).toBe(answer);
    await fails(mount, `${PRINTF} '0x401000\\nrip\\n' > ${V}/vcpu0/translate`, 'Invalid argument');
    expect(await mount.ok(`cat ${V}/vcpu0/translate`)).toBe(answer);
    expect(await mount.ok(`cat ${V}/last_error`)).toBe('vcpu0/translate: line 2: address: bad number "rip"\n');
  });
});
