// The /dev/kvm fd: system ioctls (rust-vmm's Kvm).
import { check, close, ioctlPointer, ioctlValue, errno, koffi, open, O_CLOEXEC, O_RDWR } from './libc.js';
import { ioctls } from './abi.js';
import { VmFd } from './vm.js';
import { stateIoctls, stateSizes } from './abi-state.js';
import { decodeCpuid2, newCpuid2, newView, viewBytes } from './codec-state.js';
import type { CpuidEntry } from '../types-state.js';

export class Kvm {
  private constructor(readonly fd: number) {}

  static open(path = '/dev/kvm'): Kvm {
    return new Kvm(check(`open ${path}`, open(path, O_RDWR | O_CLOEXEC)));
  }

  /** The /dev/kvm fd another thread of this process opened (it stays its to close). */
  static attach(fd: number): Kvm {
    return new Kvm(fd);
  }

  getApiVersion(): number {
    return check('KVM_GET_API_VERSION', ioctlValue(this.fd, ioctls.KVM_GET_API_VERSION, 0));
  }

  /**
   * KVM_CHECK_EXTENSION: 0 when unsupported, else a capability-specific
   * value. A capability the system fd refuses to answer (EINVAL for some
   * VM-only ones) is reported as 0, as an unsupported one is.
   */
  checkExtension(cap: number): number {
    const result = ioctlValue(this.fd, ioctls.KVM_CHECK_EXTENSION, cap);
    return result < 0 ? 0 : result;
  }

  getVcpuMmapSize(): number {
    return check('KVM_GET_VCPU_MMAP_SIZE', ioctlValue(this.fd, ioctls.KVM_GET_VCPU_MMAP_SIZE, 0));
  }

  createVm(): VmFd {
    return new VmFd(check('KVM_CREATE_VM', ioctlValue(this.fd, ioctls.KVM_CREATE_VM, 0)), this.getVcpuMmapSize());
  }

  /** KVM_GET_SUPPORTED_CPUID: the CPUID leaves KVM can give a guest (what QEMU's -cpu host sets). */
  getSupportedCpuid(): CpuidEntry[] {
    const view = newCpuid2();
    check('KVM_GET_SUPPORTED_CPUID', ioctlPointer(this.fd, stateIoctls.KVM_GET_SUPPORTED_CPUID, viewBytes(view)));
    return decodeCpuid2(view);
  }

  /** KVM_GET_MSR_INDEX_LIST: the MSRs KVM saves and restores. The first call (room for none) learns the count. */
  getMsrIndexList(): number[] {
    const probe = newView(stateSizes.kvm_msr_list);
    if (ioctlPointer(this.fd, stateIoctls.KVM_GET_MSR_INDEX_LIST, viewBytes(probe)) < 0 && koffi.errno() !== errno.E2BIG) {
      check('KVM_GET_MSR_INDEX_LIST', -1);
    }
    const count = probe.getUint32(0, true);
    const view = newView(stateSizes.kvm_msr_list + 4 * count);
    view.setUint32(0, count, true);
    check('KVM_GET_MSR_INDEX_LIST', ioctlPointer(this.fd, stateIoctls.KVM_GET_MSR_INDEX_LIST, viewBytes(view)));
    return Array.from({ length: view.getUint32(0, true) }, (_, i) => view.getUint32(stateSizes.kvm_msr_list + 4 * i, true));
  }

  close(): void {
    close(this.fd);
  }
}
