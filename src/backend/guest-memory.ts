// Guest RAM: anonymous mmap'd regions, one KVM memory slot each, laid end to
// end from GPA 0. Growing adds a slot rather than remapping, so memory the
// guest (or a reader) holds never moves. Pages are committed lazily: a VM
// with 64 MiB it never touches costs the host nothing.
import { errno, koffi, mmap, munmap, MAP_ANONYMOUS, MAP_FAILED, MAP_NORESERVE, MAP_PRIVATE, PROT_READ, PROT_WRITE, SysError } from './kvm/libc.js';
import { KVM_MEM_LOG_DIRTY_PAGES } from './kvm/abi.js';
import type { VmFd } from './kvm/vm.js';

export const PAGE_SIZE = 4096;
/**
 * Growths a VM's memory may have: each is a KVM memory slot, and a
 * dirty_log read costs one ioctl per slot.
 */
export const MAX_REGIONS = 64;

/**
 * The regions as other threads see them (a FUSE reader thread serving
 * memory reads and writes): Int32 slots, then per region its GPA, size and
 * host address as BigInt64. Regions are only ever appended: an entry is
 * written before the count that publishes it.
 */
const table = { count: 0, users: 1, released: 2, regionsByteOffset: 16 } as const;

/** What another thread needs to reach a VM's memory (structured-clonable). */
export interface MemoryShare {
  table: SharedArrayBuffer;
}

/** Whether the memory `share` names is gone (its VM destroyed). */
export function isReleased(share: MemoryShare): boolean {
  return Atomics.load(new Int32Array(share.table, 0, 4), table.released) !== 0;
}

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
  readonly share: MemoryShare = { table: new SharedArrayBuffer(table.regionsByteOffset + MAX_REGIONS * 24) };
  private readonly header = new Int32Array(this.share.table, 0, 4);
  private readonly entries = new BigInt64Array(this.share.table, table.regionsByteOffset, MAX_REGIONS * 3);

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
    if (this.regions.length >= MAX_REGIONS) throw new SysError('KVM_SET_USER_MEMORY_REGION', errno.ENOSPC);
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
    const entry = region.slot * 3;
    Atomics.store(this.entries, entry, BigInt(region.guestPhysAddr));
    Atomics.store(this.entries, entry + 1, BigInt(length));
    Atomics.store(this.entries, entry + 2, pointer);
    Atomics.store(this.header, table.count, this.regions.length);
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

  /**
   * Unmaps every region, once no other thread is copying from or to them.
   * KVM must be done with them (the VM fd closed).
   */
  release(): void {
    Atomics.store(this.header, table.released, 1);
    for (let users = Atomics.load(this.header, table.users); users > 0; users = Atomics.load(this.header, table.users)) {
      Atomics.wait(this.header, table.users, users, 10); // a copy of at most 1 MiB: short
    }
    for (const region of this.regions) munmap(region.pointer, region.size);
    this.regions.length = 0;
    this.totalSize = 0;
  }

  private copy(gpa: number, length: number, step: (region: Region, at: number, done: number, n: number) => void): number {
    return copyAcross(this.regions, gpa, length, step);
  }
}

interface Span {
  guestPhysAddr: number;
  size: number;
}

/** Walks the regions covering [gpa, gpa + length); returns the bytes covered. */
function copyAcross<R extends Span>(regions: readonly R[], gpa: number, length: number, step: (region: R, at: number, done: number, n: number) => void): number {
  let done = 0;
  for (const region of regions) {
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

/**
 * A VM's memory as another thread reaches it: reads and writes in place,
 * while the VM lives. Growing, dirty logs and release stay with the
 * GuestMemory on the main thread.
 */
export class GuestMemoryView {
  private readonly header: Int32Array;
  private readonly entries: BigInt64Array;
  private readonly regions: Array<Span & { bytes: Uint8Array }> = [];

  constructor(share: MemoryShare) {
    this.header = new Int32Array(share.table, 0, 4);
    this.entries = new BigInt64Array(share.table, table.regionsByteOffset, MAX_REGIONS * 3);
  }

  /** Copies guest memory at `gpa` into `target`; returns the bytes copied (short at the end, 0 once released). */
  read(gpa: number, target: Uint8Array): number {
    return this.using(() => copyAcross(this.regions, gpa, target.length, (region, at, done, n) => target.set(region.bytes.subarray(at, at + n), done)));
  }

  /** Copies `source` into guest memory at `gpa`, all or nothing: 0 (nothing written) if it does not fit. */
  write(gpa: number, source: Uint8Array): number {
    return this.using(() => {
      if (gpa + source.length > this.mappedSize) return 0;
      return copyAcross(this.regions, gpa, source.length, (region, at, done, n) => region.bytes.set(source.subarray(done, done + n), at));
    });
  }

  /** Bytes of RAM now (0 once released). */
  get size(): number {
    return this.using(() => this.mappedSize);
  }

  private get mappedSize(): number {
    const last = this.regions[this.regions.length - 1];
    return last ? last.guestPhysAddr + last.size : 0;
  }

  /** Runs `copy` with the regions current and mapped; with none once released. */
  private using<T>(copy: () => T): T {
    Atomics.add(this.header, table.users, 1);
    try {
      if (Atomics.load(this.header, table.released)) {
        this.regions.length = 0;
      } else {
        for (let index = this.regions.length; index < Atomics.load(this.header, table.count); index++) {
          const guestPhysAddr = Number(Atomics.load(this.entries, index * 3));
          const size = Number(Atomics.load(this.entries, index * 3 + 1));
          const pointer = Atomics.load(this.entries, index * 3 + 2);
          this.regions.push({ guestPhysAddr, size, bytes: new Uint8Array(koffi.view(pointer, size)) });
        }
      }
      return copy();
    } finally {
      if (Atomics.sub(this.header, table.users, 1) === 1) Atomics.notify(this.header, table.users);
    }
  }
}
