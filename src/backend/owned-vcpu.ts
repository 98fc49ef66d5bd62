// A vcpu's fd and kvm_run mapping, owned by the JS main thread: created
// with KVM_CREATE_VCPU, and closed once no thread uses them any more.
// What the vcpu does is in SharedVcpu, which any thread may attach to.
import { newControlBlock, slot, type VcpuShare } from './vcpu-protocol.js';
import { SharedVcpu } from './shared-vcpu.js';
import type { VmFd } from './kvm/vm.js';
import type { VcpuFd } from './kvm/vcpu.js';
import type { CpuidEntry } from './types-state.js';

/** How long close waits for other threads to let go of the vcpu (a stopped run ends within a kick). */
const CLOSE_WAIT_MS = 1000;

export class OwnedVcpu {
  private closing: Promise<void> | undefined;

  private constructor(readonly vcpu: SharedVcpu, private readonly fd: VcpuFd) {}

  /** KVM_CREATE_VCPU(id) and KVM_SET_CPUID2(cpuid); throws SysError with KVM's errno. */
  static create(vm: VmFd, id: number, activity: SharedArrayBuffer, cpuid: CpuidEntry[]): OwnedVcpu {
    const fd = vm.createVcpu(id);
    try {
      fd.setCpuid2(cpuid);
    } catch (error) {
      fd.close();
      throw error;
    }
    const share: VcpuShare = {
      id, fd: fd.fd, kvmRunPointer: fd.kvmRunPointer, mmapSize: vm.vcpuMmapSize,
      control: newControlBlock(), activity,
    };
    return new OwnedVcpu(new SharedVcpu(share), fd);
  }

  /** Stops a run in progress; closes the fd once no thread uses it. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    const control = new Int32Array(this.vcpu.share.control, 0, slot.count);
    Atomics.store(control, slot.close, 1);
    this.vcpu.stop();
    const until = Date.now() + CLOSE_WAIT_MS;
    for (let users = Atomics.load(control, slot.users); users > 0; users = Atomics.load(control, slot.users)) {
      // A thread that never lets go would make closing unsafe: leave the fd open instead.
      if (Date.now() > until) return;
      await Atomics.waitAsync(control, slot.users, users, until - Date.now()).value;
    }
    this.fd.close();
  }
}
