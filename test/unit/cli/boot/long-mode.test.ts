import { describe, expect, it } from 'vitest';
import { BOOT_TABLES_END, bootTables, entryRegs, GDT_ADDRESS, longModeSregs } from '../../../../src/cli/boot/long-mode.js';
import { parseSregs } from '../../../../src/fs/format/sregs.js';
import { parseRegs } from '../../../../src/fs/format/regs.js';

/** The tables as one flat memory image below BOOT_TABLES_END. */
function image(): DataView {
  const memory = new Uint8Array(BOOT_TABLES_END);
  for (const [address, bytes] of bootTables()) memory.set(bytes, address);
  return new DataView(memory.buffer);
}

/** Walks the 4-level tables for `address` as the MMU does (2 MiB pages). */
function translate(memory: DataView, cr3: number, address: bigint): bigint {
  const entry = (table: bigint, index: bigint) => memory.getBigUint64(Number(table + index * 8n), true);
  const pml4e = entry(BigInt(cr3), (address >> 39n) & 511n);
  const pdpte = entry(pml4e & ~0xfffn, (address >> 30n) & 511n);
  const pde = entry(pdpte & ~0xfffn, (address >> 21n) & 511n);
  expect(pde & 0x83n).toBe(0x83n); // present, writable, 2 MiB page
  return (pde & ~0x1fffffn & ((1n << 52n) - 1n)) | (address & 0x1fffffn);
}

describe('long-mode boot tables', () => {
  it('identity-map the first 4 GiB: RAM, and the local APIC page above it', () => {
    const memory = image();
    const cr3 = Number(parseSregs(longModeSregs).cr3);
    for (const address of [0n, 0x100000n, 0x1234567n, 0xfee00350n, 0xffffffffn]) expect(translate(memory, cr3, address)).toBe(address);
  });

  it('hold a GDT whose 0x08 is 64-bit code and 0x10 flat data, as sregs says', () => {
    const memory = image();
    const sregs = parseSregs(longModeSregs);
    expect(Number(sregs.gdt!.base)).toBe(GDT_ADDRESS);
    expect(sregs.gdt!.limit).toBe(23);
    expect(memory.getBigUint64(GDT_ADDRESS + 8, true)).toBe(0x00af9a000000ffffn);
    expect(memory.getBigUint64(GDT_ADDRESS + 16, true)).toBe(0x00cf92000000ffffn);
    expect(sregs.cs).toMatchObject({ selector: 0x8, l: 1, db: 0 });
    expect(sregs.efer).toBe(0x500n);
  });

  it('regs point at the entry with interrupts off', () => {
    expect(parseRegs(entryRegs(0x100000))).toEqual({ rip: 0x100000n, rsp: 0x80000n, rflags: 2n });
  });
});
