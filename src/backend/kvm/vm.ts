// A VM fd: VM ioctls (rust-vmm's VmFd).
import { check, close, ioctlValue, ioctlWith } from './libc.js';
import { ioctls } from './abi.js';
import { VcpuFd } from './vcpu.js';

const ioctlMemoryRegion = ioctlWith('const kvm_userspace_memory_region *');
const ioctlDirtyLog = ioctlWith('const kvm_dirty_log *');

export interface UserMemoryRegion {
  slot: number;
  flags: number;
  guestPhysAddr: bigint;
  memorySize: bigint;
  userspaceAddr: bigint;
}

export class VmFd {
  constructor(readonly fd: number, readonly vcpuMmapSize: number) {}

  createVcpu(id: number): VcpuFd {
    const fd = check('KVM_CREATE_VCPU', ioctlValue(this.fd, ioctls.KVM_CREATE_VCPU, id));
    return VcpuFd.fromFd(fd, this.vcpuMmapSize);
  }

  setUserMemoryRegion(region: UserMemoryRegion): void {
    check('KVM_SET_USER_MEMORY_REGION', ioctlMemoryRegion(this.fd, ioctls.KVM_SET_USER_MEMORY_REGION, {
      slot: region.slot,
      flags: region.flags,
      guest_phys_addr: region.guestPhysAddr,
      memory_size: region.memorySize,
      userspace_addr: region.userspaceAddr,
    }));
  }

  /** KVM_GET_DIRTY_LOG: fills `bitmap` (one bit per page of the slot) and clears the log. */
  getDirtyLog(slot: number, bitmap: Buffer): void {
    check('KVM_GET_DIRTY_LOG', ioctlDirtyLog(this.fd, ioctls.KVM_GET_DIRTY_LOG, {
      slot, padding1: 0, dirty_bitmap: bitmap,
    }));
  }

  /** KVM_SET_TSS_ADDR: three pages Intel VMX needs for real mode without unrestricted guest. */
  setTssAddr(addr: number): void {
    check('KVM_SET_TSS_ADDR', ioctlValue(this.fd, ioctls.KVM_SET_TSS_ADDR, addr));
  }

  close(): void {
    close(this.fd);
  }
}
