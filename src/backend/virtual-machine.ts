// One VM as kvmfs drives it: the VM fd, its guest RAM and its vcpus.
import { errno, SysError } from './kvm/libc.js';
import type { VmFd } from './kvm/vm.js';
import { GuestMemory } from './guest-memory.js';
import { OwnedVcpu } from './owned-vcpu.js';
import { Console } from './console.js';
import type { SharedVcpu } from './shared-vcpu.js';
import type { RunWatchdog } from './run-watchdog.js';
import type { StatsFd } from './kvm/stats-fd.js';
import type { IrqchipName, IrqchipStates, PitState, Stat } from './controller-types.js';
import type { HostState } from './host-state.js';

const { EBADF, EBUSY, EEXIST } = errno;
/** Where KVM_SET_TSS_ADDR puts the three pages VMX real mode needs: just below 4 GiB, out of RAM's way (as QEMU does). */
const TSS_ADDRESS = 0xfffbd000;

export class VirtualMachine {
  readonly memory: GuestMemory;
  /** shared with every vcpu: their runs append to it */
  readonly console = new Console();
  private readonly vcpus = new Map<number, OwnedVcpu>();
  /** What kvmfs set on this VM (KVM has no getters for these). */
  private irqchipCreated = false;
  private pitCreated = false;
  private tss: number | undefined;
  private identityMap: bigint | undefined;
  /** Binary stats fds, opened on first read and kept for the VM's life. */
  private vmStats: StatsFd | undefined;
  private readonly vcpuStats = new Map<number, StatsFd>();

  constructor(private readonly vm: VmFd, private readonly watchdog: RunWatchdog, readonly host: HostState) {
    this.memory = new GuestMemory(vm);
    try {
      this.setTssAddr(TSS_ADDRESS);
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
    const owned = OwnedVcpu.create(this.vm, id, this.watchdog.activity, this.host.supportedCpuid, this.console.buffer);
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
    for (const stats of [this.vmStats, ...this.vcpuStats.values()]) stats?.close();
    this.vmStats = undefined;
    this.vcpuStats.clear();
    this.vm.close();
    this.memory.release();
  }

  // Interrupt controllers, timers, clock and stats.

  get hasIrqchip(): boolean {
    return this.irqchipCreated;
  }

  /** KVM_CREATE_IRQCHIP; KVM refuses it once a vcpu exists (its errno passes through). */
  createIrqchip(): void {
    this.vm.createIrqchip();
    this.irqchipCreated = true;
  }

  /** KVM_IRQ_LINE; ENXIO (from KVM) without an irqchip. */
  irqLine(gsi: number, level: number): void {
    this.vm.irqLine(gsi, level);
  }

  getIrqchip<C extends IrqchipName>(chip: C): IrqchipStates[C] {
    return this.vm.getIrqchip(chip);
  }

  setIrqchip<C extends IrqchipName>(chip: C, state: IrqchipStates[C]): void {
    this.vm.setIrqchip(chip, state);
  }

  get hasPit(): boolean {
    return this.pitCreated;
  }

  createPit(): void {
    this.vm.createPit2();
    this.pitCreated = true;
  }

  getPit(): PitState {
    return this.vm.getPit2();
  }

  setPit(pit: PitState): void {
    this.vm.setPit2(pit);
  }

  getClock(): bigint {
    return this.vm.getClock();
  }

  setClock(ns: bigint): void {
    this.vm.setClock(ns);
  }

  /** The last address KVM_SET_TSS_ADDR took; undefined if it never did. */
  get tssAddr(): number | undefined {
    return this.tss;
  }

  setTssAddr(addr: number): void {
    this.vm.setTssAddr(addr);
    this.tss = addr;
  }

  /** The last address KVM_SET_IDENTITY_MAP_ADDR took; undefined if it never did. */
  get identityMapAddr(): bigint | undefined {
    return this.identityMap;
  }

  setIdentityMapAddr(addr: bigint): void {
    this.vm.setIdentityMapAddr(addr);
    this.identityMap = addr;
  }

  /** The VM's binary stats, now. */
  stats(): Stat[] {
    this.vmStats ??= this.vm.getStatsFd();
    return this.vmStats.read();
  }

  /** Vcpu `id`'s binary stats, now (its fd is asked for with the vcpu paused: KVM takes the vcpu's lock). */
  vcpuStatsOf(id: number): Stat[] {
    let stats = this.vcpuStats.get(id);
    if (!stats) {
      const owned = this.vcpus.get(id);
      if (!owned) throw new SysError('KVM_GET_STATS_FD', EBADF);
      stats = owned.vcpu.paused((fd) => fd.getStatsFd());
      this.vcpuStats.set(id, stats);
    }
    return stats.read();
  }
}
