// What this host's KVM offers every VM, asked once of /dev/kvm: the CPUID
// table a new vcpu starts with, the MSRs KVM saves and restores, and the
// size of the XSAVE area.
import { stateCaps, stateSizes } from './kvm/abi-state.js';
import type { Kvm } from './kvm/system.js';
import type { VcpuFd } from './kvm/vcpu.js';
import type { CpuidEntry } from './types-state.js';

export class HostState {
  private cpuid: CpuidEntry[] | undefined;
  private msrs: number[] | undefined;
  private xsave2: number | undefined;

  constructor(private readonly kvm: Kvm) {}

  /** KVM_GET_SUPPORTED_CPUID: what QEMU's `-cpu host` gives a guest. */
  get supportedCpuid(): CpuidEntry[] {
    this.cpuid ??= this.kvm.getSupportedCpuid();
    return this.cpuid;
  }

  /** KVM_GET_MSR_INDEX_LIST */
  get msrIndexList(): number[] {
    this.msrs ??= this.kvm.getMsrIndexList();
    return this.msrs;
  }

  /** Whether KVM has KVM_GET/SET_XSAVE (KVM_CAP_XSAVE). */
  get hasXsave(): boolean {
    return this.kvm.checkExtension(stateCaps.KVM_CAP_XSAVE) > 0;
  }

  /** Bytes of a vcpu's XSAVE area: KVM_CAP_XSAVE2's value, or struct kvm_xsave's 4096 without it. */
  get xsaveSize(): number {
    return Math.max(this.xsave2Size, stateSizes.kvm_xsave);
  }

  /** A vcpu's XSAVE area: KVM_GET_XSAVE2 where KVM has it (the area may outgrow 4096 bytes), else KVM_GET_XSAVE. */
  readXsave(fd: VcpuFd): Uint8Array {
    return this.xsave2Size > 0 ? fd.getXsave2(this.xsaveSize) : fd.getXsave();
  }

  /** KVM_CAP_XSAVE2's value: 0 without it */
  private get xsave2Size(): number {
    this.xsave2 ??= this.kvm.checkExtension(stateCaps.KVM_CAP_XSAVE2);
    return this.xsave2;
  }
}
