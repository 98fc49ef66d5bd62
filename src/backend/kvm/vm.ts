// A VM fd: VM ioctls (rust-vmm's VmFd).
import { check, close, ioctlPointer, ioctlValue, ioctlWith } from './libc.js';
import { ioctls } from './abi.js';
import { VcpuFd } from './vcpu.js';
import { controllerIoctls, KVM_IRQCHIP_IOAPIC, KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE } from './abi-controllers.js';
import {
  CLOCK_DATA_SIZE, decodeIoapic, decodePic, decodePit, encodeIoapic, encodePic, encodePit,
  IRQCHIP_CHIP_AT, IRQCHIP_SIZE, PIT_STATE2_SIZE,
} from './codec-controllers.js';
import { StatsFd } from './stats-fd.js';
import type { IrqchipName, IrqchipStates, PitState } from '../controller-types.js';

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

  // Interrupt controllers, timers, the VM clock and stats (abi-controllers.ts).

  /** KVM_CREATE_IRQCHIP: the in-kernel PIC, IOAPIC and local APICs (before any vcpu). */
  createIrqchip(): void {
    check('KVM_CREATE_IRQCHIP', ioctlValue(this.fd, controllerIoctls.KVM_CREATE_IRQCHIP, 0));
  }

  /** KVM_IRQ_LINE: sets the level of one GSI of the in-kernel irqchip. */
  irqLine(irq: number, level: number): void {
    const arg = new DataView(new ArrayBuffer(8));
    arg.setUint32(0, irq, true);
    arg.setUint32(4, level, true);
    check('KVM_IRQ_LINE', ioctlPointer(this.fd, controllerIoctls.KVM_IRQ_LINE, new Uint8Array(arg.buffer)));
  }

  getIrqchip<C extends IrqchipName>(chip: C): IrqchipStates[C] {
    const view = irqchipBuffer(chip);
    check('KVM_GET_IRQCHIP', ioctlPointer(this.fd, controllerIoctls.KVM_GET_IRQCHIP, new Uint8Array(view.buffer)));
    const state = chip === 'ioapic' ? decodeIoapic(view, IRQCHIP_CHIP_AT) : decodePic(view, IRQCHIP_CHIP_AT);
    return state as IrqchipStates[C];
  }

  setIrqchip<C extends IrqchipName>(chip: C, state: IrqchipStates[C]): void {
    const view = irqchipBuffer(chip);
    if (chip === 'ioapic') encodeIoapic(state as IrqchipStates['ioapic'], view, IRQCHIP_CHIP_AT);
    else encodePic(state as IrqchipStates['pic_master'], view, IRQCHIP_CHIP_AT);
    check('KVM_SET_IRQCHIP', ioctlPointer(this.fd, controllerIoctls.KVM_SET_IRQCHIP, new Uint8Array(view.buffer)));
  }

  /** KVM_CREATE_PIT2 with struct kvm_pit_config flags 0 (no dummy speaker port). */
  createPit2(): void {
    const config = new Uint8Array(64);
    check('KVM_CREATE_PIT2', ioctlPointer(this.fd, controllerIoctls.KVM_CREATE_PIT2, config));
  }

  getPit2(): PitState {
    const bytes = new Uint8Array(PIT_STATE2_SIZE);
    check('KVM_GET_PIT2', ioctlPointer(this.fd, controllerIoctls.KVM_GET_PIT2, bytes));
    return decodePit(new DataView(bytes.buffer));
  }

  setPit2(pit: PitState): void {
    const bytes = new Uint8Array(PIT_STATE2_SIZE);
    encodePit(pit, new DataView(bytes.buffer));
    check('KVM_SET_PIT2', ioctlPointer(this.fd, controllerIoctls.KVM_SET_PIT2, bytes));
  }

  /** KVM_GET_CLOCK: the VM's kvmclock, ns. */
  getClock(): bigint {
    const bytes = new Uint8Array(CLOCK_DATA_SIZE);
    check('KVM_GET_CLOCK', ioctlPointer(this.fd, controllerIoctls.KVM_GET_CLOCK, bytes));
    return new DataView(bytes.buffer).getBigUint64(0, true);
  }

  /** KVM_SET_CLOCK with flags 0: the clock alone. */
  setClock(clock: bigint): void {
    const bytes = new Uint8Array(CLOCK_DATA_SIZE);
    new DataView(bytes.buffer).setBigUint64(0, clock, true);
    check('KVM_SET_CLOCK', ioctlPointer(this.fd, controllerIoctls.KVM_SET_CLOCK, bytes));
  }

  /** KVM_SET_IDENTITY_MAP_ADDR: the page Intel EPT needs for real mode without unrestricted guest. */
  setIdentityMapAddr(addr: bigint): void {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, addr, true);
    check('KVM_SET_IDENTITY_MAP_ADDR', ioctlPointer(this.fd, controllerIoctls.KVM_SET_IDENTITY_MAP_ADDR, bytes));
  }

  getStatsFd(): StatsFd {
    return StatsFd.open(check('KVM_GET_STATS_FD', ioctlValue(this.fd, controllerIoctls.KVM_GET_STATS_FD, 0)));
  }

  close(): void {
    close(this.fd);
  }
}

const IRQCHIP_IDS: Record<IrqchipName, number> = {
  pic_master: KVM_IRQCHIP_PIC_MASTER, pic_slave: KVM_IRQCHIP_PIC_SLAVE, ioapic: KVM_IRQCHIP_IOAPIC,
};

/** A zeroed struct kvm_irqchip naming `chip`. */
function irqchipBuffer(chip: IrqchipName): DataView {
  const view = new DataView(new ArrayBuffer(IRQCHIP_SIZE));
  view.setUint32(0, IRQCHIP_IDS[chip], true);
  return view;
}
