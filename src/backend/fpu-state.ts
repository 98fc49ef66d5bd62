// A vcpu's x87/SSE registers, through the XSAVE area where KVM has it.
// KVM_SET_FPU writes the area's legacy region but not XSTATE_BV, and a
// component whose XSTATE_BV bit is clear is loaded in its init state: an
// xmm register set that way reads 0 in the guest (measured). The legacy
// region of KVM_GET_XSAVE holds the same registers as struct kvm_fpu, with
// init values filled in for absent components, so reads use it too.
import { decodeXsaveFpu, encodeXsaveFpu } from './kvm/codec-state.js';
import type { VcpuFd } from './kvm/vcpu.js';
import type { HostState } from './host-state.js';
import type { Fpu } from './types-state.js';

const view = (area: Uint8Array) => new DataView(area.buffer, area.byteOffset, area.byteLength);

export function readFpu(fd: VcpuFd, host: HostState): Fpu {
  return host.hasXsave ? decodeXsaveFpu(view(host.readXsave(fd))) : fd.getFpu();
}

/** The registers `patch` names changed, the others kept; one KVM_SET_XSAVE (or KVM_SET_FPU without XSAVE). */
export function writeFpu(fd: VcpuFd, host: HostState, patch: Partial<Fpu>): void {
  if (!host.hasXsave) {
    fd.setFpu({ ...fd.getFpu(), ...patch });
    return;
  }
  const area = host.readXsave(fd);
  encodeXsaveFpu({ ...decodeXsaveFpu(view(area)), ...patch }, view(area));
  fd.setXsave(area);
}

/** The ioctl a write of the fpu file makes, for messages. */
export const fpuSetIoctl = (host: HostState): string => (host.hasXsave ? 'KVM_SET_XSAVE' : 'KVM_SET_FPU');
