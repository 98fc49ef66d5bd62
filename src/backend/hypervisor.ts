// The system level as kvmfs uses it: /dev/kvm, its API version and
// capabilities, and VM creation.
import { Kvm } from './kvm/system.js';
import { KVM_CAPS } from './kvm/capabilities.js';
import { VirtualMachine } from './virtual-machine.js';
import { RunWatchdog } from './run-watchdog.js';
import { HostState } from './host-state.js';

const KVM_CAP_MAX_VCPUS = 66;
const KVM_CAP_MAX_VCPU_ID = 128;

/** The system ioctls a file reads, from any thread: on the main thread's /dev/kvm fd (`fd`, for a reader thread to attach to). */
export class SystemQueries {
  constructor(private readonly kvm: Kvm) {}

  static attach(fd: number): SystemQueries {
    return new SystemQueries(Kvm.attach(fd));
  }

  get fd(): number {
    return this.kvm.fd;
  }

  get apiVersion(): number {
    return this.kvm.getApiVersion();
  }

  /** KVM_CHECK_EXTENSION for every KVM_CAP_* of <linux/kvm.h>, as [name, value]. */
  capabilities(): Array<[string, number]> {
    return KVM_CAPS.map(([name, cap]) => [name, this.kvm.checkExtension(cap)]);
  }
}

export class Hypervisor {
  private readonly watchdog = new RunWatchdog();
  /** What KVM offers every VM: supported CPUID, MSR index list, XSAVE size */
  readonly host: HostState;
  /** API version and capabilities */
  readonly system: SystemQueries;

  private constructor(private readonly kvm: Kvm) {
    this.host = new HostState(kvm);
    this.system = new SystemQueries(kvm);
  }

  static open(path?: string): Hypervisor {
    return new Hypervisor(Kvm.open(path));
  }

  /**
   * The first vcpu id KVM refuses: KVM_CAP_MAX_VCPU_ID, or KVM_CAP_MAX_VCPUS
   * where the former is missing (as the KVM API documentation says).
   */
  get vcpuIdLimit(): { limit: number; capability: string } {
    const maxVcpuId = this.kvm.checkExtension(KVM_CAP_MAX_VCPU_ID);
    if (maxVcpuId > 0) return { limit: maxVcpuId, capability: 'KVM_CAP_MAX_VCPU_ID' };
    return { limit: this.kvm.checkExtension(KVM_CAP_MAX_VCPUS), capability: 'KVM_CAP_MAX_VCPUS' };
  }

  createVm(): VirtualMachine {
    return new VirtualMachine(this.kvm.createVm(), this.watchdog, this.host);
  }

  close(): void {
    this.kvm.close();
  }
}

export { VirtualMachine };
export type { SharedVcpu } from './shared-vcpu.js';
export type { HostState } from './host-state.js';
