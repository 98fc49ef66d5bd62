// gdb's breakpoints and watchpoints (Z0-Z4) on the vcpu's four debug
// registers, written to the `debug` file. KVM_GUESTDBG_USE_SW_BP is not
// honoured by every host (an int3 goes to the guest), so software
// breakpoints (Z0) take a hardware slot too; a fifth one is refused.

export type SlotType = 'exec' | 'write' | 'rw';

interface Slot { type: SlotType; addr: bigint; length: number; packet: number }

/** Z packet type -> debug register type: 0/1 breakpoints, 2 write, 3 read (x86 has no read-only: rw), 4 access. */
const Z_TYPES: SlotType[] = ['exec', 'exec', 'write', 'rw', 'rw'];
/** Stop reply keys of watchpoints, by Z packet type. */
const WATCH_KEYS = ['', '', 'watch', 'rwatch', 'awatch'];
const SLOTS = 4;

export class Breakpoints {
  private readonly slots: Array<Slot | undefined> = new Array(SLOTS).fill(undefined);

  /** Takes a slot for a Z packet; a message if it cannot (gdb is told with an error). */
  insert(packet: number, addr: bigint, kind: number): string | undefined {
    const type = Z_TYPES[packet];
    if (type === undefined) return `Z${packet} is not supported`;
    const length = type === 'exec' ? 1 : kind;
    if (![1, 2, 4, 8].includes(length) || addr % BigInt(length) !== 0n) return `a watchpoint of ${kind} bytes at 0x${addr.toString(16)} does not fit a debug register (1, 2, 4 or 8 bytes, aligned)`;
    if (this.find(packet, addr, length) >= 0) return undefined;
    const free = this.slots.indexOf(undefined);
    if (free < 0) return `all ${SLOTS} hardware breakpoint slots are taken (software breakpoints use them too: int3 is not honoured here)`;
    this.slots[free] = { type, addr, length, packet };
    return undefined;
  }

  remove(packet: number, addr: bigint, kind: number): void {
    const slot = this.find(packet, addr, Z_TYPES[packet] === 'exec' ? 1 : kind);
    if (slot >= 0) this.slots[slot] = undefined;
  }

  clear(): void {
    this.slots.fill(undefined);
  }

  /** The debug file's text for these slots. */
  debugText(singlestep: boolean): string {
    const lines = this.slots.map((slot, i) => `hw${i} ${slot ? `addr=0x${slot.addr.toString(16)} type=${slot.type} len=${slot.length}` : 'off'}\n`);
    return `singlestep ${singlestep ? 1 : 0}\nsw_breakpoints 0\n${lines.join('')}`;
  }

  /** The stop reply's watchpoint part for DR6's B0-B3 bits, if a watchpoint hit. */
  watchHit(dr6: bigint): string {
    for (const [i, slot] of this.slots.entries()) {
      if (slot && slot.type !== 'exec' && ((dr6 >> BigInt(i)) & 1n) !== 0n) return `${WATCH_KEYS[slot.packet]}:${slot.addr.toString(16)};`;
    }
    return '';
  }

  private find(packet: number, addr: bigint, length: number): number {
    return this.slots.findIndex((slot) => slot?.packet === packet && slot.addr === addr && slot.length === length);
  }
}
