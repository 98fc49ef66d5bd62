// One VM as kvmfs drives it: the VM fd, its guest RAM and its vcpu threads.
import { errno, SysError } from './kvm/libc.js';
import type { VmFd } from './kvm/vm.js';
import { GuestMemory } from './guest-memory.js';
import { VcpuThread } from './vcpu-thread.js';
import type { SharedVcpu } from './shared-vcpu.js';

const { EBUSY, EEXIST } = errno;
/** Where KVM_SET_TSS_ADDR puts the three pages VMX real mode needs: just below 4 GiB, out of RAM's way (as QEMU does). */
const TSS_ADDRESS = 0xfffbd000;

export class VirtualMachine {
  readonly memory: GuestMemory;
  private readonly vcpus = new Map<number, VcpuThread>();
  private readonly starting = new Set<number>();

  constructor(private readonly vm: VmFd) {
    this.memory = new GuestMemory(vm);
    try {
      vm.setTssAddr(TSS_ADDRESS);
    } catch {
      // Only VMX without unrestricted guest needs it; elsewhere KVM may refuse it.
    }
  }

  get vcpuIds(): number[] {
    return [...this.vcpus.keys()].sort((a, b) => a - b);
  }

  vcpu(id: number): SharedVcpu | undefined {
    return this.vcpus.get(id)?.vcpu;
  }

  get running(): boolean {
    return [...this.vcpus.values()].some((thread) => thread.vcpu.running);
  }

  /** KVM_CREATE_VCPU(id) on a thread of its own. */
  async createVcpu(id: number): Promise<SharedVcpu> {
    if (this.vcpus.has(id) || this.starting.has(id)) throw new SysError('KVM_CREATE_VCPU', EEXIST);
    this.starting.add(id);
    try {
      const vcpu = await VcpuThread.start(this.vm.fd, id, this.vm.vcpuMmapSize);
      this.vcpus.set(id, vcpu);
      return vcpu.vcpu;
    } finally {
      this.starting.delete(id);
    }
  }

  /** Tears the VM down; EBUSY while a vcpu runs unless `force` (daemon exit). */
  async destroy(force = false): Promise<void> {
    if (!force && this.running) throw new SysError('destroy VM', EBUSY);
    await Promise.all([...this.vcpus.values()].map((thread) => thread.close()));
    this.vcpus.clear();
    this.vm.close();
    this.memory.release();
  }
}
