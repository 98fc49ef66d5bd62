// The system level as kvmfs uses it: /dev/kvm, its API version and
// capabilities, and VM creation.
import { Kvm } from './kvm/system.js';
import { KVM_CAPS } from './kvm/capabilities.js';
import { VirtualMachine } from './virtual-machine.js';
import { RunWatchdog } from './run-watchdog.js';
import { HostState } from './host-state.js';

export class Hypervisor {
  private readonly watchdog = new RunWatchdog();
  /** What KVM offers every VM: supported CPUID, MSR index list, XSAVE size */
  readonly host: HostState;

  private constructor(private readonly kvm: Kvm) {
    this.host = new HostState(kvm);
  }

  static open(path?: string): Hypervisor {
    return new Hypervisor(Kvm.open(path));
  }

  get apiVersion(): number {
    return this.kvm.getApiVersion();
  }

  /** KVM_CHECK_EXTENSION for every KVM_CAP_* of <linux/kvm.h>, as [name, value]. */
  capabilities(): Array<[string, number]> {
    return KVM_CAPS.map(([name, cap]) => [name, this.kvm.checkExtension(cap)]);
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
