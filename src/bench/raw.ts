// The in-process baseline: the same exit loop driven by raw KVM_RUN through
// koffi on this thread, no FUSE, no threads in between.
import { Kvm } from '../backend/kvm/system.js';
import { GuestMemory } from '../backend/guest-memory.js';

/** µs per exit over `exits` KVM_RUNs of `out %al,$0xe9; jmp .-2`. */
export function rawExitLoop(exits: number): number {
  const kvm = Kvm.open();
  const vm = kvm.createVm();
  const memory = new GuestMemory(vm);
  try {
    memory.grow(1 << 20);
    memory.write(0x1000, Uint8Array.from([0xe6, 0xe9, 0xeb, 0xfc]));
    const vcpu = vm.createVcpu(0);
    const sregs = vcpu.getSregs();
    sregs.cs.base = 0n;
    sregs.cs.selector = 0;
    vcpu.setSregs(sregs);
    vcpu.setRegs({ ...vcpu.getRegs(), rip: 0x1000n });
    const started = process.hrtime.bigint();
    for (let i = 0; i < exits; i++) {
      vcpu.run();
      vcpu.kvmRun.readExit();
    }
    const elapsed = Number(process.hrtime.bigint() - started);
    vcpu.close();
    return elapsed / exits / 1000;
  } finally {
    vm.close();
    memory.release();
    kvm.close();
  }
}
