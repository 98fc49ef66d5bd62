// The open files reader threads serve themselves (a file with offThread):
// one slot each, in shared memory, holding the key of the file readers
// know it by (registry.ts), the snapshot the last read at offset 0 took, so
// that reads past 0 continue it whichever reader thread gets them, and the
// read in progress that may last (for FUSE_INTERRUPT). The main thread
// allocates and frees slots (OPEN, RELEASE); readers fill snapshots.
import type { SnapshotStore } from '../open-file.js';

/** A file handle at or above this names a slot: FUSE passes it back with every read and write. */
export const SLOT_HANDLE_BASE = 2 ** 40;
/** Open files served off the main thread at once, mount-wide. */
export const SLOTS = 1024;
/** A snapshot is kept up to this size for reads past offset 0 (an exit line or regs is far smaller). */
export const SNAPSHOT_SIZE = 32 * 1024;

const FIELDS = 4;
/**
 * key: the file's (0: slot free); snapshotLength: -1 until a read at 0 took one;
 * blockedUnique: low 32 bits of the FUSE unique of the read in progress that
 * may last (0: none), for FUSE_INTERRUPT
 */
const field = { key: 0, snapshotLength: 1, blockedUnique: 2 } as const;

export class OpenTable {
  readonly buffer: SharedArrayBuffer;
  private readonly fields: Int32Array;
  private readonly snapshots: Uint8Array;
  private readonly free: number[] = [];

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(SLOTS * FIELDS * 4 + SLOTS * SNAPSHOT_SIZE);
    this.fields = new Int32Array(this.buffer, 0, SLOTS * FIELDS);
    this.snapshots = new Uint8Array(this.buffer, SLOTS * FIELDS * 4);
    if (!buffer) for (let slot = SLOTS - 1; slot >= 0; slot--) this.free.push(slot);
  }

  /** A slot for an open file known to readers by `key` (> 0); undefined when all are in use. */
  allocate(key: number): number | undefined {
    const slot = this.free.pop();
    if (slot === undefined) return undefined;
    Atomics.store(this.fields, slot * FIELDS + field.snapshotLength, -1);
    Atomics.store(this.fields, slot * FIELDS + field.blockedUnique, 0);
    Atomics.store(this.fields, slot * FIELDS + field.key, key);
    return slot;
  }

  release(slot: number): void {
    Atomics.store(this.fields, slot * FIELDS + field.key, 0);
    this.free.push(slot);
  }

  /** The key of the file open on `slot`; 0 if it is free. */
  key(slot: number): number {
    return Atomics.load(this.fields, slot * FIELDS + field.key);
  }

  /** Marks the read with FUSE `unique` in progress on `slot` as one that may last (undefined: ended). */
  setBlocked(slot: number, unique: bigint | undefined): void {
    Atomics.store(this.fields, slot * FIELDS + field.blockedUnique, unique === undefined ? 0 : uniqueTag(unique));
  }

  /** The slot of the read in progress with FUSE `unique` that may last, if there is one. */
  findBlocked(unique: bigint): number | undefined {
    const tag = uniqueTag(unique);
    for (let slot = 0; slot < SLOTS; slot++) {
      if (Atomics.load(this.fields, slot * FIELDS + field.blockedUnique) === tag && this.key(slot) !== 0) return slot;
    }
    return undefined;
  }

  /** The slots with a read in progress that may last. */
  blockedSlots(): number[] {
    const slots: number[] = [];
    for (let slot = 0; slot < SLOTS; slot++) {
      if (Atomics.load(this.fields, slot * FIELDS + field.blockedUnique) !== 0 && this.key(slot) !== 0) slots.push(slot);
    }
    return slots;
  }

  /** The snapshot store of `slot`, for readOpenFile. */
  snapshot(slot: number): SnapshotStore {
    return {
      store: (content) => this.storeSnapshot(slot, content),
      copy: (offset, target) => this.readSnapshot(slot, offset, target),
    };
  }

  storeSnapshot(slot: number, content: Uint8Array): void {
    const length = Math.min(content.length, SNAPSHOT_SIZE);
    this.snapshots.set(content.subarray(0, length), slot * SNAPSHOT_SIZE);
    Atomics.store(this.fields, slot * FIELDS + field.snapshotLength, length);
  }

  /** Copies the snapshot from `offset` into `target`; 0 at its end (EOF); undefined if none was taken yet. */
  readSnapshot(slot: number, offset: number, target: Uint8Array): number | undefined {
    const length = Atomics.load(this.fields, slot * FIELDS + field.snapshotLength);
    if (length < 0) return undefined;
    if (offset >= length) return 0;
    const n = Math.min(length - offset, target.length);
    target.set(this.snapshots.subarray(slot * SNAPSHOT_SIZE + offset, slot * SNAPSHOT_SIZE + offset + n));
    return n;
  }
}

/**
 * A request's unique as an Int32, never 0. The kernel numbers requests in
 * sequence, so two runs in progress at once never share their low 32 bits.
 */
function uniqueTag(unique: bigint): number {
  return Number(BigInt.asIntN(32, unique)) || 1;
}
