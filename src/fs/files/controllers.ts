// Interrupt controllers, timers and counters: the VM's irqchip, irq, pic_master,
// pic_slave, ioapic, pit, clock, tss_addr, identity_map_addr and stats, and
// each vcpu's lapic and stats.
import type { FileEntries, VcpuContext, VmContext } from '../node.js';

export function vmControllerFiles(_context: VmContext): FileEntries {
  return [];
}

export function vcpuControllerFiles(_context: VcpuContext): FileEntries {
  return [];
}
