// One VM as kvmfs drives it: the VM fd, its guest RAM and its vcpus.
import { errno, SysError } from './kvm/libc.js';
import type { VmFd } from './kvm/vm.js';
import { GuestMemory } from './guest-memory.js';
import { OwnedVcpu } from './owned-vcpu.js';
import { Console } from './console.js';
import type { SharedVcpu } from './shared-vcpu.js';
import type { RunWatchdog } from './run-watchdog.js';

const { EBUSY, EEXIST } = errno;
/** Where KVM_SET_TSS_ADDR puts the three pages VMX real mode needs: just below 4 GiB, out of RAM's way (as QEMU does). */
const TSS_ADDRESS = 0xfffbd000;

export class VirtualMachine {
  readonly memory: GuestMemory;
  /** shared with every vcpu: their runs append to it */
  readonly console = new Console();
  private readonly vcpus = new Map<number, OwnedVcpu>();

  constructor(private readonly vm: VmFd, private readonly watchdog: RunWatchdog) {
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

  /** KVM_CREATE_VCPU(id). Its runs happen on the threads that read its `run` file. */
  createVcpu(id: number): SharedVcpu {
    if (this.vcpus.has(id)) throw new SysError('KVM_CREATE_VCPU', EEXIST);
    const owned = OwnedVcpu.create(this.vm, id, this.watchdog.activity, this.console.buffer);
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
