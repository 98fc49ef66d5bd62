// Guest RAM: anonymous mmap'd regions, one KVM memory slot each, laid end to
// end from GPA 0. Growing adds a slot rather than remapping, so memory the
// guest (or a reader) holds never moves. Pages are committed lazily: a VM
// with 64 MiB it never touches costs the host nothing.
import { koffi, mmap, munmap, MAP_ANONYMOUS, MAP_FAILED, MAP_NORESERVE, MAP_PRIVATE, PROT_READ, PROT_WRITE, SysError } from './kvm/libc.js';
import { KVM_MEM_LOG_DIRTY_PAGES } from './kvm/abi.js';
import type { VmFd } from './kvm/vm.js';

export const PAGE_SIZE = 4096;

interface Region {
  slot: number;
  guestPhysAddr: number;
  size: number;
  pointer: bigint;
  bytes: Uint8Array;
}

export class GuestMemory {
  private readonly regions: Region[] = [];
  private totalSize = 0;

  constructor(private readonly vm: VmFd) {}

  get size(): number {
    return this.totalSize;
  }

  /** Size in bytes of the dirty bitmap: one bit per page, in 64-bit words. */
  get dirtyBitmapSize(): number {
    return Math.ceil(this.totalSize / PAGE_SIZE / 64) * 8;
  }

  /** How many times it grew: each growth is a KVM memory slot, and getDirtyLog costs one ioctl per slot. */
  get regionCount(): number {
    return this.regions.length;
  }

  /** Grows RAM to `size` rounded up to a page; never shrinks. */
  grow(size: number): void {
    const target = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
    if (target <= this.totalSize) return;
    const length = target - this.totalSize;
    const pointer = mmap(null, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) as bigint;
    if (pointer === MAP_FAILED) throw new SysError('mmap guest memory', koffi.errno());
    const region: Region = {
      slot: this.regions.length, guestPhysAddr: this.totalSize, size: length, pointer,
      bytes: new Uint8Array(koffi.view(pointer, length)),
    };
    try {
      this.vm.setUserMemoryRegion({
        slot: region.slot, flags: KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: BigInt(region.guestPhysAddr),
        memorySize: BigInt(length), userspaceAddr: pointer,
      });
    } catch (error) {
      munmap(pointer, length);
      throw error;
    }
    this.regions.push(region);
    this.totalSize = target;
  }

  /** Copies guest memory at `gpa` into `target`; returns the bytes copied (short at the end). */
  read(gpa: number, target: Uint8Array): number {
    return this.copy(gpa, target.length, (region, at, done, n) => target.set(region.bytes.subarray(at, at + n), done));
  }

  /** Copies `source` into guest memory at `gpa`; returns the bytes copied (short at the end). */
  write(gpa: number, source: Uint8Array): number {
    return this.copy(gpa, source.length, (region, at, done, n) => region.bytes.set(source.subarray(done, done + n), at));
  }

  /**
   * KVM_GET_DIRTY_LOG over every slot, merged into one bitmap indexed by
   * page number from GPA 0. Fetching clears KVM's log.
   */
  getDirtyLog(): Buffer {
    const bitmap = Buffer.alloc(this.dirtyBitmapSize);
    for (const region of this.regions) {
      const pages = region.size / PAGE_SIZE;
      const slotBitmap = Buffer.alloc(Math.ceil(pages / 64) * 8);
      this.vm.getDirtyLog(region.slot, slotBitmap);
      const firstPage = region.guestPhysAddr / PAGE_SIZE;
      for (let byte = 0; byte < slotBitmap.length; byte++) {
        const bits = slotBitmap[byte]!;
        if (bits === 0) continue;
        for (let bit = 0; bit < 8; bit++) {
          if (bits & (1 << bit)) {
            const page = firstPage + byte * 8 + bit;
            bitmap[page >> 3] = bitmap[page >> 3]! | (1 << (page & 7));
          }
        }
      }
    }
    return bitmap;
  }

  /** Unmaps every region. KVM must be done with them (the VM fd closed). */
  release(): void {
    for (const region of this.regions) munmap(region.pointer, region.size);
    this.regions.length = 0;
    this.totalSize = 0;
  }

  private copy(gpa: number, length: number, step: (region: Region, at: number, done: number, n: number) => void): number {
    let done = 0;
    for (const region of this.regions) {
      const end = region.guestPhysAddr + region.size;
      const position = gpa + done;
      if (done >= length) break;
      if (position >= end || position < region.guestPhysAddr) continue;
      const at = position - region.guestPhysAddr;
      const n = Math.min(length - done, region.size - at);
      step(region, at, done, n);
      done += n;
    }
    return done;
  }
}
