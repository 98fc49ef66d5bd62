// A VM's console: the io ports whose `io out` exits are consumed where the
// vcpu runs, and a ring holding the last CONSOLE_CAPACITY bytes the guest
// wrote to them. It lives in one SharedArrayBuffer per VM that every vcpu's
// VcpuShare carries, so the thread running a vcpu (a FUSE reader) appends
// to it with no hand-off, and the main thread reads it for the files.
//
// Writers (any vcpu, any thread) take a spin lock: an append is a copy of
// at most a page (KVM's io data). Readers take no lock: they copy, then
// look at how far writers have reserved, and what a writer may have
// overwritten meanwhile counts as lost (the seqlock pattern).
import type { KvmRunPage } from './kvm/kvm-run.js';

/** Bytes kept: the last 1 MiB written. */
export const CONSOLE_CAPACITY = 1 << 20;
const PORTS = 0x10000;
const SET_WORDS = PORTS / 32;

/** Int32 slots of the header. */
const header = { lock: 0, activeSet: 1, count: 4 } as const;
/** BigInt64 counters, after the header: bytes reserved by the append in progress, and bytes committed (the size). */
const counter = { reserved: 0, committed: 1, count: 2 } as const;
const COUNTERS_OFFSET = header.count * 4;
/** Two port bitmaps: a new set is written into the one not in use, then made active with one store. */
const SETS_OFFSET = COUNTERS_OFFSET + counter.count * 8;
const RING_OFFSET = SETS_OFFSET + 2 * SET_WORDS * 4;
const CONSOLE_BYTES = RING_OFFSET + CONSOLE_CAPACITY;

export class Console {
  readonly buffer: SharedArrayBuffer;
  private readonly header: Int32Array;
  private readonly counters: BigInt64Array;
  private readonly sets: Int32Array;
  private readonly ring: Uint8Array;

  /** A new, empty console (no ports), or another thread's view of `buffer`. */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(CONSOLE_BYTES);
    this.header = new Int32Array(this.buffer, 0, header.count);
    this.counters = new BigInt64Array(this.buffer, COUNTERS_OFFSET, counter.count);
    this.sets = new Int32Array(this.buffer, SETS_OFFSET, 2 * SET_WORDS);
    this.ring = new Uint8Array(this.buffer, RING_OFFSET, CONSOLE_CAPACITY);
  }

  /** The listed ports, ascending. */
  get ports(): number[] {
    const base = Atomics.load(this.header, header.activeSet) * SET_WORDS;
    const ports: number[] = [];
    for (let word = 0; word < SET_WORDS; word++) {
      const bits = this.sets[base + word]!;
      if (bits === 0) continue;
      for (let bit = 0; bit < 32; bit++) if ((bits >>> bit) & 1) ports.push(word * 32 + bit);
    }
    return ports;
  }

  /**
   * Replaces the port set at once: a vcpu sees the old set or the new one.
   * Called by one thread only (the main thread, for console_ports).
   */
  setPorts(ports: Iterable<number>): void {
    const next = 1 - Atomics.load(this.header, header.activeSet);
    const set = this.sets.subarray(next * SET_WORDS, (next + 1) * SET_WORDS);
    set.fill(0);
    for (const port of ports) set[port >>> 5] = set[port >>> 5]! | (1 << (port & 31));
    Atomics.store(this.header, header.activeSet, next);
  }

  hasPort(port: number): boolean {
    const word = this.sets[Atomics.load(this.header, header.activeSet) * SET_WORDS + (port >>> 5)]!;
    return ((word >>> (port & 31)) & 1) === 1;
  }

  /**
   * After KVM_RUN returned: if the exit is an `io out` to a listed port,
   * appends its bytes (count elements of size bytes) and returns true: the
   * exit is the console's, and the vcpu runs on.
   */
  consume(run: KvmRunPage): boolean {
    const port = run.outPort;
    if (port < 0 || !this.hasPort(port)) return false;
    this.append(run.outData());
    return true;
  }

  /** Bytes written since the VM was created (the console file's size). */
  get size(): number {
    return Number(Atomics.load(this.counters, counter.committed));
  }

  append(bytes: Uint8Array): void {
    const lock = this.header;
    while (Atomics.compareExchange(lock, header.lock, 0, 1) !== 0) { /* spin: the holder copies at most a page */ }
    try {
      const start = Number(Atomics.load(this.counters, counter.reserved));
      const end = start + bytes.length;
      // only the last CONSOLE_CAPACITY bytes of a longer append are kept
      const kept = bytes.subarray(Math.max(0, bytes.length - CONSOLE_CAPACITY));
      Atomics.store(this.counters, counter.reserved, BigInt(end));
      this.copyIn(end - kept.length, kept);
      Atomics.store(this.counters, counter.committed, BigInt(end));
    } finally {
      Atomics.store(lock, header.lock, 0);
    }
  }

  /**
   * Copies what was written at stream offset `offset` (bytes since the VM
   * was created) into `target`; returns how many bytes, 0 at the end.
   * Bytes no longer kept (before the last CONSOLE_CAPACITY) read as zeros.
   */
  readAt(offset: number, target: Uint8Array): number {
    const committed = this.size;
    if (offset >= committed) return 0;
    const length = Math.min(target.length, committed - offset);
    const keptFrom = Math.max(offset, committed - CONSOLE_CAPACITY);
    target.fill(0, 0, Math.min(length, keptFrom - offset));
    if (keptFrom < offset + length) this.copyOut(keptFrom, target.subarray(keptFrom - offset, length));
    // An append that began meanwhile may have overwritten the oldest bytes copied.
    const overwrittenBelow = Number(Atomics.load(this.counters, counter.reserved)) - CONSOLE_CAPACITY;
    if (overwrittenBelow > offset) target.fill(0, 0, Math.min(length, overwrittenBelow - offset));
    return length;
  }

  private copyIn(at: number, bytes: Uint8Array): void {
    const position = at % CONSOLE_CAPACITY;
    const first = Math.min(bytes.length, CONSOLE_CAPACITY - position);
    this.ring.set(bytes.subarray(0, first), position);
    this.ring.set(bytes.subarray(first), 0);
  }

  private copyOut(at: number, target: Uint8Array): void {
    const position = at % CONSOLE_CAPACITY;
    const first = Math.min(target.length, CONSOLE_CAPACITY - position);
    target.set(this.ring.subarray(position, position + first));
    target.set(this.ring.subarray(0, target.length - first), first);
  }
}
