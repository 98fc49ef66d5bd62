// The open files reader threads serve themselves (SharedFile): one slot
// each, in shared memory, holding what the file is and, for run and regs,
// the snapshot the last read at offset 0 took, so that reads past 0
// continue it whichever reader thread gets them. The main thread allocates
// and frees slots (OPEN, RELEASE); readers fill snapshots.

/** A file handle at or above this names a slot: FUSE passes it back with every read and write. */
export const SLOT_HANDLE_BASE = 2 ** 40;
/** Open run, regs and memory files at once, mount-wide. */
export const SLOTS = 1024;
/** A snapshot is kept up to this size for reads past offset 0 (an exit line or regs is far smaller). */
export const SNAPSHOT_SIZE = 32 * 1024;

export const slotKinds = { run: 1, regs: 2, memory: 3 } as const;
export type SlotKind = keyof typeof slotKinds;
const kindNames = new Map<number, SlotKind>(Object.entries(slotKinds).map(([name, code]) => [code, name as SlotKind]));

const FIELDS = 4;
/** runUnique: low 32 bits of the FUSE unique of the `run` read in progress on the slot (0: none), for FUSE_INTERRUPT */
const field = { kind: 0, key: 1, snapshotLength: 2, runUnique: 3 } as const;

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

  /** A slot for an open file of `kind` on shared object `key`; undefined when all are in use. */
  allocate(kind: SlotKind, key: number): number | undefined {
    const slot = this.free.pop();
    if (slot === undefined) return undefined;
    Atomics.store(this.fields, slot * FIELDS + field.key, key);
    Atomics.store(this.fields, slot * FIELDS + field.snapshotLength, 0);
    Atomics.store(this.fields, slot * FIELDS + field.runUnique, 0);
    Atomics.store(this.fields, slot * FIELDS + field.kind, slotKinds[kind]);
    return slot;
  }

  release(slot: number): void {
    Atomics.store(this.fields, slot * FIELDS + field.kind, 0);
    this.free.push(slot);
  }

  kind(slot: number): SlotKind | undefined {
    return kindNames.get(Atomics.load(this.fields, slot * FIELDS + field.kind));
  }

  key(slot: number): number {
    return Atomics.load(this.fields, slot * FIELDS + field.key);
  }

  /** Marks the run read with FUSE `unique` in progress on `slot` (undefined: ended). */
  setRun(slot: number, unique: bigint | undefined): void {
    Atomics.store(this.fields, slot * FIELDS + field.runUnique, unique === undefined ? 0 : uniqueTag(unique));
  }

  /** The slot whose run read has FUSE `unique`, if one is in progress. */
  findRun(unique: bigint): number | undefined {
    const tag = uniqueTag(unique);
    for (let slot = 0; slot < SLOTS; slot++) {
      if (Atomics.load(this.fields, slot * FIELDS + field.runUnique) === tag && this.kind(slot) === 'run') return slot;
    }
    return undefined;
  }

  storeSnapshot(slot: number, content: Uint8Array): void {
    const length = Math.min(content.length, SNAPSHOT_SIZE);
    this.snapshots.set(content.subarray(0, length), slot * SNAPSHOT_SIZE);
    Atomics.store(this.fields, slot * FIELDS + field.snapshotLength, length);
  }

  /** Copies the snapshot from `offset` into `target`; 0 at its end (EOF). */
  readSnapshot(slot: number, offset: number, target: Uint8Array): number {
    const length = Atomics.load(this.fields, slot * FIELDS + field.snapshotLength);
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
