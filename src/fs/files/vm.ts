// A VM's own files: memory and dirty_log.
import { errno, FsError } from '../errors.js';
import type { Attributes, BlockFile, SnapshotFile } from '../node.js';
import type { VirtualMachine } from '../../backend/hypervisor.js';
import { MAX_REGIONS, PAGE_SIZE } from '../../backend/guest-memory.js';

/**
 * Each growth of memory is a KVM memory slot, and a dirty_log read costs one
 * ioctl per slot on the daemon's main thread: the bound keeps one VM from
 * making every file of the mount slow.
 */
const MAX_GROWTHS = MAX_REGIONS;

/**
 * Guest RAM from GPA 0. Like a block device: truncate only grows it, and
 * writes past the end fail with ENOSPC rather than extending it.
 */
export function memoryFile(vm: VirtualMachine, attr: Attributes, maxSize: () => number): BlockFile {
  return {
    kind: 'block',
    attr,
    shared: { kind: 'memory', memory: vm.memory.share },
    size: () => vm.memory.size,
    readAt: (offset, target) => vm.memory.read(offset, target),
    writeAt(offset, source) {
      if (offset + source.length > vm.memory.size) {
        throw new FsError(errno.ENOSPC, `write of ${source.length} bytes at 0x${offset.toString(16)} ends past the end of memory (0x${vm.memory.size.toString(16)} bytes; grow it with truncate)`);
      }
      return vm.memory.write(offset, source);
    },
    truncate(size) {
      if (size <= vm.memory.size) return; // O_TRUNC of a shell `>` must never wipe RAM
      const limit = maxSize();
      // memory grows in whole pages: check the size it will really have
      if (Math.ceil(size / PAGE_SIZE) * PAGE_SIZE - vm.memory.size > limit) {
        throw new FsError(errno.ENOSPC, `cannot grow memory to ${size} bytes: over the mount's --max-memory (${limit} bytes left)`);
      }
      if (vm.memory.regionCount >= MAX_GROWTHS) {
        throw new FsError(errno.ENOSPC, `cannot grow memory again: it was grown ${MAX_GROWTHS} times (each growth is a KVM memory slot); grow it in fewer, larger steps`);
      }
      vm.memory.grow(size);
    },
  };
}

/** KVM_GET_DIRTY_LOG over all of memory; a read at offset 0 fetches and clears it. */
export function dirtyLogFile(vm: VirtualMachine, attr: Attributes): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    size: () => vm.memory.dirtyBitmapSize,
    read: () => vm.memory.getDirtyLog(),
  };
}
