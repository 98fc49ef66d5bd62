// The same guest, with the same inputs, run twice: once straight on KVM
// (the backend's ioctl wrappers, synchronously on this test's own thread,
// no kvmfs, no threads, no FUSE) and once through a kvmfs mount with shell
// tools. The exit lines, the final memory and the final registers must be
// identical: kvmfs adds nothing to, and loses nothing of, what KVM does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '../../src/backend/kvm/system.js';
import { GuestMemory } from '../../src/backend/guest-memory.js';
import { SysError } from '../../src/backend/kvm/libc.js';
import { renderExit } from '../../src/fs/format/exit.js';
import { renderRegs } from '../../src/fs/format/regs.js';
import { renderSregs } from '../../src/fs/format/sregs.js';
import type { VcpuExit } from '../../src/backend/types.js';
import { Mount, realModeVm } from './harness.js';
import * as guests from './guests.js';

const MEMORY_SIZE = 0x10000; // 64 KiB: GPA 0x20000 and up is mmio
const EINTR = 4;

/** What the test answers to each exit that waits for input; anything else gets no write. */
const ANSWERS: Record<string, string> = {
  'io in port=0x0060 size=1 count=1': '0x41',
  'io in port=0x0060 size=1 count=3': '7,8,9',
  'mmio read addr=0x0000000000020020 len=4': '0xcafef00d',
  // `io in port=0x0061` is left unanswered: the guest reads zero
};

/** The exits the `sequence` guest makes with those answers. */
const EXPECTED = [
  'io out port=0x00e9 size=1 count=1 data=0x4b',
  'io out port=0x00e9 size=2 count=1 data=0x1234',
  'io in port=0x0060 size=1 count=1',
  'io out port=0x00e9 size=1 count=1 data=0x41',
  'io in port=0x0061 size=1 count=1',
  'io in port=0x0060 size=1 count=3',
  'mmio write addr=0x0000000000020010 len=2 data=0xbeef',
  'mmio read addr=0x0000000000020020 len=4',
  'io out port=0x00e9 size=4 count=1 data=0xcafef00d',
  'hlt',
];

interface Outcome {
  exits: string[];
  memory: string; // hex
  regs: string;
  sregs: string;
}

/** The guest straight on KVM: KVM_CREATE_VM, one memory slot, KVM_CREATE_VCPU, KVM_RUN in a loop. */
function runRaw(): Outcome {
  const kvm = Kvm.open();
  const vm = kvm.createVm();
  try {
    vm.setTssAddr(0xfffbd000); // as kvmfs does (only VMX without unrestricted guest needs it)
  } catch {
    // other hosts may refuse it, as kvmfs tolerates
  }
  const memory = new GuestMemory(vm);
  const vcpu = vm.createVcpu(0);
  try {
    memory.grow(MEMORY_SIZE);
    memory.write(0x1000, Uint8Array.from(guests.sequence));
    const sregs = vcpu.getSregs();
    vcpu.setSregs({ ...sregs, cs: { ...sregs.cs, base: 0n, selector: 0 } });
    vcpu.setRegs({ ...vcpu.getRegs(), rip: 0x1000n });
    const exits: string[] = [];
    for (let i = 0; i < 40; i++) {
      try {
        vcpu.run();
      } catch (error) {
        if (error instanceof SysError && error.errno === EINTR) continue;
        throw error;
      }
      const exit: VcpuExit = vcpu.kvmRun.readExit();
      const line = renderExit(exit).trimEnd();
      exits.push(line);
      const answer = ANSWERS[line];
      if (answer !== undefined) vcpu.kvmRun.writeInput(exit, { values: answer.split(',').map((v) => BigInt(v)) });
      if (line === 'hlt') break;
    }
    const bytes = new Uint8Array(MEMORY_SIZE);
    memory.read(0, bytes);
    return { exits, memory: Buffer.from(bytes).toString('hex'), regs: renderRegs(vcpu.getRegs()), sregs: renderSregs(vcpu.getSregs()) };
  } finally {
    vcpu.close();
    vm.close();
    memory.release();
    kvm.close();
  }
}

describe('raw KVM and kvmfs agree', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  /** The same guest through the mount: a shell loop of cat run, answering with echo. */
  async function runKvmfs(): Promise<Outcome> {
    await realModeVm(mount, 'seq', guests.sequence, '64K');
    const arms = Object.entries(ANSWERS).map(([line, answer]) => `'${line}') echo '${answer}' > "$R" ;;`).join('\n          ');
    const out = await mount.ok(`
      R="$M/seq/vcpu0/run"
      for i in $(seq 1 40); do
        line=$(cat "$R")
        echo "$line"
        case "$line" in
          ${arms}
          hlt) break ;;
        esac
      done
      echo MEMORY
      od -An -v -tx1 "$M/seq/memory" | tr -d ' \\n'; echo
      echo REGS
      cat "$M/seq/vcpu0/regs"
      echo SREGS
      cat "$M/seq/vcpu0/sregs"
    `);
    const [exits, rest] = out.split('MEMORY\n') as [string, string];
    const [memory, rest2] = rest.split('\nREGS\n') as [string, string];
    const [regs, sregs] = rest2.split('SREGS\n') as [string, string];
    return { exits: exits.trimEnd().split('\n'), memory, regs, sregs };
  }

  it('the same exit lines, byte-identical memory, the same registers', async () => {
    const raw = runRaw();
    const fs = await runKvmfs();
    expect(raw.exits).toEqual(EXPECTED);
    expect(fs.exits).toEqual(raw.exits);
    expect(fs.memory.length).toBe(MEMORY_SIZE * 2);
    expect(fs.memory === raw.memory, 'final memory differs').toBe(true);
    expect(fs.regs).toBe(raw.regs);
    expect(fs.sregs).toBe(raw.sregs);
    // and the memory holds what the guest read
    const at = (gpa: number, n: number) => raw.memory.slice(gpa * 2, (gpa + n) * 2);
    expect(at(0x3000, 2)).toBe('4100'); // the answered in, then the unanswered one: zero
    expect(at(0x3010, 3)).toBe('070809');
    expect(at(0x3020, 4)).toBe('0df0feca');
    expect(at(0x1000, guests.sequence.length)).toBe(Buffer.from(guests.sequence).toString('hex'));
  });
});
