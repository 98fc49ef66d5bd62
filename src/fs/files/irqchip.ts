// The VM's in-kernel irqchip: irqchip (creates it), irq (drives its lines),
// pic_master, pic_slave and ioapic (KVM_GET/SET_IRQCHIP, decoded).
import { errno, FsError } from '../errors.js';
import { isBlank } from '../format/fields.js';
import {
  applyIoapicPatch, applyPicPatch, parseIoapic, parseIrq, parseIrqchipMode, parsePic, renderIoapic, renderPic,
} from '../format/irqchip.js';
import type { FileEntries, SnapshotFile, VmContext } from '../node.js';
import type { VirtualMachine } from '../../backend/hypervisor.js';
import type { IrqchipName, IrqchipStates } from '../../backend/controller-types.js';
import { modes } from '../node.js';

const NO_IRQCHIP = 'the VM has no in-kernel irqchip (echo kernel > irqchip first, before any vcpu)';

/** Runs a call that needs the in-kernel irqchip; KVM's ENXIO without one gets the reason added. */
export function withIrqchip<T>(vm: VirtualMachine, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (!vm.hasIrqchip && (error as { errno?: number }).errno === errno.ENXIO) {
      throw new FsError(errno.ENXIO, `${(error as Error).message}: ${NO_IRQCHIP}`);
    }
    throw error;
  }
}

/** "none" or "kernel"; writing kernel creates the irqchip, writing what it is already changes nothing. */
function irqchipFile({ vm, file }: VmContext): SnapshotFile {
  return {
    kind: 'snapshot',
    attr: file(modes.ownerReadWrite),
    read: () => (vm.hasIrqchip ? 'kernel\n' : 'none\n'),
    write(text) {
      if (isBlank(text)) return;
      const mode = parseIrqchipMode(text);
      if (mode === 'kernel' && !vm.hasIrqchip) vm.createIrqchip();
      if (mode === 'none' && vm.hasIrqchip) throw new FsError(errno.EINVAL, 'an irqchip cannot be removed (KVM has no ioctl for it)');
    },
  };
}

/** `<gsi> <level>` sets a line; `<gsi>` alone pulses it (1, then 0: one edge). */
function irqFile({ vm, file }: VmContext): SnapshotFile {
  return {
    kind: 'snapshot',
    attr: file(modes.ownerWrite),
    write(text) {
      if (isBlank(text)) return;
      const { gsi, level } = parseIrq(text);
      withIrqchip(vm, () => {
        if (level !== undefined) {
          vm.irqLine(gsi, level);
        } else {
          vm.irqLine(gsi, 1);
          vm.irqLine(gsi, 0);
        }
      });
    },
  };
}

/** One part of the irqchip as text: read with KVM_GET_IRQCHIP, a write patches it and sets it with KVM_SET_IRQCHIP. */
function chipFile<C extends IrqchipName, Patch>({ vm, file }: VmContext, chip: C, codec: {
  render: (state: IrqchipStates[C]) => string;
  parse: (text: string) => Patch;
  apply: (current: IrqchipStates[C], patch: Patch) => IrqchipStates[C];
}): SnapshotFile {
  return {
    kind: 'snapshot',
    attr: file(modes.ownerReadWrite),
    read: () => codec.render(withIrqchip(vm, () => vm.getIrqchip(chip))),
    write(text) {
      if (isBlank(text)) return;
      const patch = codec.parse(text);
      withIrqchip(vm, () => vm.setIrqchip(chip, codec.apply(vm.getIrqchip(chip), patch)));
    },
  };
}

export function irqchipFiles(context: VmContext): FileEntries {
  const pic = { render: renderPic, parse: parsePic, apply: applyPicPatch };
  return [
    ['irqchip', irqchipFile(context)],
    ['irq', irqFile(context)],
    ['pic_master', chipFile(context, 'pic_master', pic)],
    ['pic_slave', chipFile(context, 'pic_slave', pic)],
    ['ioapic', chipFile(context, 'ioapic', { render: renderIoapic, parse: parseIoapic, apply: applyIoapicPatch })],
  ];
}
