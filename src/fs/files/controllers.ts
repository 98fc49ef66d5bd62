// Interrupt controllers, timers and counters: the VM's irqchip, irq, pic_master,
// pic_slave, ioapic, pit, clock, tss_addr, identity_map_addr and stats, and
// each vcpu's lapic and stats.
import { errno, FsError } from '../errors.js';
import { isBlank } from '../format/fields.js';
import { parseLapic, renderLapic } from '../format/lapic.js';
import { renderStats } from '../format/stats.js';
import { modes, type FileEntries, type SnapshotFile, type VcpuContext, type VmContext } from '../node.js';
import { irqchipFiles } from './irqchip.js';
import { timerFiles } from './timers.js';

export function vmControllerFiles(context: VmContext): FileEntries {
  const { vm, file } = context;
  return [
    ...irqchipFiles(context),
    ...timerFiles(context),
    ['stats', { kind: 'snapshot', attr: file(modes.ownerRead), read: () => renderStats(vm.stats()) }],
  ];
}

/** The local APIC's registers (KVM_GET/SET_LAPIC); a write changes the registers it names. */
function lapicFile({ vcpu, vm, file }: VcpuContext): SnapshotFile {
  const needIrqchip = () => {
    // KVM answers EINVAL for a vcpu without an in-kernel APIC; the contract says ENXIO, as for the chips.
    if (!vm.hasIrqchip) throw new FsError(errno.ENXIO, 'the VM has no in-kernel irqchip, so no local APICs (echo kernel > irqchip first, before any vcpu)');
  };
  return {
    kind: 'snapshot',
    attr: file(modes.ownerReadWrite),
    read() {
      needIrqchip();
      return renderLapic(vcpu.paused((fd) => fd.getLapic()).registers);
    },
    write(text) {
      if (isBlank(text)) return;
      const changes = parseLapic(text);
      needIrqchip();
      vcpu.idle('KVM_SET_LAPIC', (fd) => {
        const page = fd.getLapic();
        fd.setLapic({ ...page, registers: { ...page.registers, ...changes } });
      });
    },
  };
}

export function vcpuControllerFiles(context: VcpuContext): FileEntries {
  const { vcpu, vm, file } = context;
  return [
    ['lapic', lapicFile(context)],
    ['stats', { kind: 'snapshot', attr: file(modes.ownerRead), read: () => renderStats(vm.vcpuStatsOf(vcpu.share.id)) }],
  ];
}
