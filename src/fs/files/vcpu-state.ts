// A vcpu's state files beyond regs and sregs: fpu, xsave, xcrs, msrs, cpuid, events, mp_state, debugregs, nmi.
import type { FileEntries, VcpuContext } from '../node.js';

export function vcpuStateFiles(_context: VcpuContext): FileEntries {
  return [];
}
