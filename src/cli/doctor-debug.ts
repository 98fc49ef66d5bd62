// doctor's look at guest debugging: does this host's KVM honour
// KVM_GUESTDBG_USE_SW_BP? A tiny real-mode VM runs an int3 with software
// breakpoints on: honoured, KVM_RUN exits with a debug exit (exception 3);
// not honoured, the int3 goes to the guest's own vector 3, whose handler
// here writes to port 0x80. And does it honour data breakpoints (write
// watchpoints)? kvm-pvm honours exec breakpoints but not these (measured
// in real, protected and long mode): the store runs on to hlt.
import { Hypervisor } from '../backend/hypervisor.js';
import type { VirtualMachine } from '../backend/virtual-machine.js';

const CODE = 0x1000;
const VECTOR_3_HANDLER = 0x2000;
const STACK_TOP = 0x3000;
const PROBE_PORT = 0x80;

/** A real-mode VM with 16 KiB of RAM, `fill` run on it, then destroyed. */
async function withProbeVm<T>(fill: (vm: VirtualMachine) => T): Promise<T> {
  const hypervisor = Hypervisor.open();
  const vm = hypervisor.createVm();
  try {
    vm.memory.grow(0x4000);
    return fill(vm);
  } finally {
    await vm.destroy(true);
    hypervisor.close();
  }
}

export function softwareBreakpoints(): Promise<string> {
  return withProbeVm((vm) => {
    vm.memory.write(3 * 4, Uint8Array.from([VECTOR_3_HANDLER & 0xff, VECTOR_3_HANDLER >> 8, 0, 0])); // IVT[3] = 0000:2000
    vm.memory.write(CODE, Uint8Array.from([0xcc, 0xf4])); // int3; hlt
    vm.memory.write(VECTOR_3_HANDLER, Uint8Array.from([0xe6, PROBE_PORT, 0xf4])); // out %al, $0x80; hlt
    const vcpu = vm.createVcpu(0);
    vcpu.idle('KVM_SET_SREGS', (fd) => {
      const sregs = fd.getSregs();
      fd.setSregs({ ...sregs, cs: { ...sregs.cs, base: 0n, selector: 0 } });
      fd.setRegs({ ...fd.getRegs(), rip: BigInt(CODE), rsp: BigInt(STACK_TOP) });
      vcpu.guestDebug.set(fd, { singlestep: false, swBreakpoints: true, hw: [undefined, undefined, undefined, undefined] });
    });
    const exit = vcpu.run(1000);
    if (exit.kind === 'debug' && exit.exception === 3) return 'KVM_GUESTDBG_USE_SW_BP honoured: an int3 exits to kvmfs (sw_breakpoints 1 works)';
    if (exit.kind === 'io' && exit.port === PROBE_PORT) {
      return "KVM_GUESTDBG_USE_SW_BP not honoured: an int3 goes to the guest's vector 3 (sw_breakpoints 1 has no effect; kvmfs gdb serves breakpoints with the four hardware slots)";
    }
    throw new Error(`the int3 probe VM stopped with ${exit.kind} instead of a debug or io exit`);
  });
}

/** A store to 0x2000 under a 2-byte write watchpoint there, then hlt. */
export function hardwareWatchpoints(): Promise<string> {
  return withProbeVm((vm) => {
    vm.memory.write(CODE, Uint8Array.from([0xa3, 0x00, 0x20, 0xf4])); // mov %ax, 0x2000; hlt
    const vcpu = vm.createVcpu(0);
    vcpu.idle('KVM_SET_SREGS', (fd) => {
      const sregs = fd.getSregs();
      fd.setSregs({ ...sregs, cs: { ...sregs.cs, base: 0n, selector: 0 } });
      fd.setRegs({ ...fd.getRegs(), rip: BigInt(CODE) });
      vcpu.guestDebug.set(fd, { singlestep: false, swBreakpoints: false, hw: [{ addr: 0x2000n, type: 'write', length: 2 }, undefined, undefined, undefined] });
    });
    const exit = vcpu.run(1000);
    if (exit.kind === 'debug' && exit.exception === 1) return 'write watchpoints honoured: a store under hwN type=write stops the guest';
    if (exit.kind === 'hlt') {
      return 'write watchpoints not honoured: a store under hwN type=write/rw runs on (exec breakpoints still work; in kvmfs gdb, `set can-use-hw-watchpoints 0` gives software watchpoints)';
    }
    throw new Error(`the watchpoint probe VM stopped with ${exit.kind} instead of a debug exit or hlt`);
  });
}
