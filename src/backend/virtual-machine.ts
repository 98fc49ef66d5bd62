// One VM as kvmfs drives it: the VM fd, its guest RAM and its vcpus.
import { errno, SysError } from './kvm/libc.js';
import type { VmFd } from './kvm/vm.js';
import { GuestMemory } from './guest-memory.js';
import { OwnedVcpu } from './owned-vcpu.js';
import type { SharedVcpu } from './shared-vcpu.js';
import type { RunWatchdog } from './run-watchdog.js';
import type { HostState } from './host-state.js';

const { EBUSY, EEXIST } = errno;
/** Where KVM_SET_TSS_ADDR puts the three pages VMX real mode needs: just below 4 GiB, out of RAM's way (as QEMU does). */
const TSS_ADDRESS = 0xfffbd000;

export class VirtualMachine {
  readonly memory: GuestMemory;
  private readonly vcpus = new Map<number, OwnedVcpu>();

  constructor(private readonly vm: VmFd, private readonly watchdog: RunWatchdog, readonly host: HostState) {
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
    return [...this.vcpus.values()].some((owned) => owned.vcpu.running);
  }

  /**
   * KVM_CREATE_VCPU(id), then KVM_SET_CPUID2 with the host's supported
   * table (as QEMU's -cpu host), so a guest's `cpuid` sees the host's
   * vendor and features. Its runs happen on the threads that read its `run` file.
   */
  createVcpu(id: number): SharedVcpu {
    if (this.vcpus.has(id)) throw new SysError('KVM_CREATE_VCPU', EEXIST);
    const owned = OwnedVcpu.create(this.vm, id, this.watchdog.activity, this.host.supportedCpuid);
    this.vcpus.set(id, owned);
    this.watchdog.add(owned.vcpu);
    return owned.vcpu;
  }

  /** Tears the VM down; EBUSY while a vcpu runs unless `force` (daemon exit). */
  async destroy(force = false): Promise<void> {
    if (!force && this.running) throw new SysError('destroy VM', EBUSY);
    await Promise.all([...this.vcpus.values()].map((owned) => {
      this.watchdog.delete(owned.vcpu);
      return owned.close();
    }));
    this.vcpus.clear();
    this.vm.close();
    this.memory.release();
  }
}
