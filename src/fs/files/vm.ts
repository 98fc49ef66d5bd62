// A VM's own files: memory and dirty_log. memory is also served by FUSE
// reader threads (offThread): there the same ramFile reads and writes the
// RAM through a GuestMemoryView.
import { errno, FsError } from '../errors.js';
import { offThreadAttributes, type Attributes, type BlockFile, type PseudoFile, type SnapshotFile } from '../node.js';
import type { VirtualMachine } from '../../backend/hypervisor.js';
import { GuestMemoryView, isReleased, MAX_REGIONS, PAGE_SIZE, type MemoryShare } from '../../backend/guest-memory.js';

/**
 * Each growth of memory is a KVM memory slot, and a dirty_log read costs one
 * ioctl per slot on the daemon's main thread: the bound keeps one VM from
 * making every file of the mount slow.
 */
const MAX_GROWTHS = MAX_REGIONS;

/** Guest RAM as any thread reaches it: a GuestMemory, or a GuestMemoryView on another thread. */
interface Ram {
  readonly size: number;
  read(gpa: number, target: Uint8Array): number;
  write(gpa: number, source: Uint8Array): number;
}

/** Reads and writes in place; writes past the end fail with ENOSPC rather than extending it. */
function ramFile(ram: Ram, attr: Attributes, rest: Pick<BlockFile, 'offThread' | 'truncate'>): BlockFile {
  return {
    kind: 'block',
    attr,
    ...rest,
    size: () => ram.size,
    readAt: (offset, target) => ram.read(offset, target),
    writeAt(offset, source) {
      if (offset + source.length > ram.size) {
        throw new FsError(errno.ENOSPC, `write of ${source.length} bytes at 0x${offset.toString(16)} ends past the end of memory (0x${ram.size.toString(16)} bytes; grow it with truncate)`);
      }
      return ram.write(offset, source);
    },
  };
}

/**
 * Guest RAM from GPA 0. Like a block device: truncate only grows it, and
 * writes past the end fail with ENOSPC rather than extending it.
 */
export function memoryFile(vm: VirtualMachine, attr: Attributes, maxSize: () => number): BlockFile {
  const { share } = vm.memory;
  return ramFile(vm.memory, attr, {
    offThread: { factory: 'memory', share, gone: () => isReleased(share) },
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
  });
}

/** The VM files reader threads serve (OffThread.factory): memory, through a view (it never grows there). */
export const vmOffThreadFiles: Record<string, (share: never) => PseudoFile> = {
  memory: (share: MemoryShare) => ramFile(new GuestMemoryView(share), offThreadAttributes, {
    truncate: () => { throw new FsError(errno.EPERM, 'memory grows on the main thread only'); },
  }),
};

/** KVM_GET_DIRTY_LOG over all of memory; a read at offset 0 fetches and clears it. */
export function dirtyLogFile(vm: VirtualMachine, attr: Attributes): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    size: () => vm.memory.dirtyBitmapSize,
    read: () => vm.memory.getDirtyLog(),
  };
}
