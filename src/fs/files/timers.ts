// The VM's timers and the addresses KVM keeps for it: pit (KVM_CREATE_PIT2,
// KVM_GET/SET_PIT2), clock (KVM_GET/SET_CLOCK), tss_addr and
// identity_map_addr (set-only ioctls: the files show what kvmfs set).
import { errno, FsError } from '../errors.js';
import { isBlank } from '../format/fields.js';
import { applyPitPatch, parsePit, renderPit } from '../format/pit.js';
import { parseValue, renderValue } from '../format/value.js';
import { modes, type FileEntries, type SnapshotFile, type VmContext } from '../node.js';

/** "none" until "create" is written; then the PIT's state, which a write patches. */
function pitFile({ vm, file }: VmContext): SnapshotFile {
  return {
    kind: 'snapshot',
    attr: file(modes.ownerReadWrite),
    read: () => renderPit(vm.hasPit ? vm.getPit() : undefined),
    write(text) {
      if (isBlank(text)) return;
      const request = parsePit(text);
      switch (request.kind) {
        case 'create':
          vm.createPit(); // KVM's EEXIST if there is one already
          return;
        case 'none':
          if (vm.hasPit) throw new FsError(errno.EINVAL, 'a PIT cannot be removed (KVM has no ioctl for it)');
          return;
        case 'state':
          if (!vm.hasPit) throw new FsError(errno.ENXIO, 'the VM has no PIT (echo create > pit first)');
          vm.setPit(applyPitPatch(vm.getPit(), request.patch));
      }
    },
  };
}

function clockFile({ vm, file }: VmContext): SnapshotFile {
  return {
    kind: 'snapshot',
    attr: file(modes.ownerReadWrite),
    read: () => renderValue('clock', vm.getClock(), 64),
    write(text) {
      if (isBlank(text)) return;
      vm.setClock(parseValue(text, 'clock', 64));
    },
  };
}

/**
 * An address KVM takes but never gives back: the file shows the last one
 * KVM accepted ("none" if none was), and a write sets it with `set`.
 */
function addressFile({ file }: VmContext, name: string, bits: number, access: {
  get: () => bigint | number | undefined;
  set: (addr: bigint) => void;
}): SnapshotFile {
  return {
    kind: 'snapshot',
    attr: file(modes.ownerReadWrite),
    read() {
      const addr = access.get();
      return addr === undefined ? 'none\n' : renderValue(name, addr, 64);
    },
    write(text) {
      if (isBlank(text)) return;
      if (text.trim() === 'none') {
        if (access.get() === undefined) return;
        throw new FsError(errno.EINVAL, `${name} cannot be unset`);
      }
      access.set(parseValue(text, name, bits));
    },
  };
}

export function timerFiles(context: VmContext): FileEntries {
  const { vm } = context;
  return [
    ['pit', pitFile(context)],
    ['clock', clockFile(context)],
    // KVM_SET_TSS_ADDR takes an unsigned int address (below 4 GiB)
    ['tss_addr', addressFile(context, 'tss_addr', 32, { get: () => vm.tssAddr, set: (addr) => vm.setTssAddr(Number(addr)) })],
    ['identity_map_addr', addressFile(context, 'identity_map_addr', 64, {
      get: () => vm.identityMapAddr, set: (addr) => vm.setIdentityMapAddr(addr),
    })],
  ];
}
