// doctor's look at guest debugging: does this host's KVM honour
// KVM_GUESTDBG_USE_SW_BP? A tiny real-mode VM runs an int3 with software
// breakpoints on: honoured, KVM_RUN exits with a debug exit (exception 3);
// not honoured, the int3 goes to the guest's own vector 3, whose handler
// here writes to port 0x80.
import { Hypervisor } from '../backend/hypervisor.js';

const CODE = 0x1000;
const VECTOR_3_HANDLER = 0x2000;
const STACK_TOP = 0x3000;
const PROBE_PORT = 0x80;

export async function softwareBreakpoints(): Promise<string> {
  const hypervisor = Hypervisor.open();
  const vm = hypervisor.createVm();
  try {
    vm.memory.grow(0x4000);
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
  } finally {
    await vm.destroy(true);
    hypervisor.close();
  }
}
