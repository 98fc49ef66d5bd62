// The /dev/kvm fd: system ioctls (rust-vmm's Kvm).
import { check, close, ioctlValue, open, O_CLOEXEC, O_RDWR } from './libc.js';
import { ioctls } from './abi.js';
import { VmFd } from './vm.js';

export class Kvm {
  private constructor(readonly fd: number) {}

  static open(path = '/dev/kvm'): Kvm {
    return new Kvm(check(`open ${path}`, open(path, O_RDWR | O_CLOEXEC)));
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

  close(): void {
    close(this.fd);
  }
}
