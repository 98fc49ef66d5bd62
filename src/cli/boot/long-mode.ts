// What puts a vcpu straight into 64-bit mode, as kvmfs boot lays it out in
// guest memory below 32 KiB: a GDT, identity page tables for the first
// 4 GiB (RAM and the local APIC and IOAPIC pages above it), and the sregs
// and regs text that point the vcpu at them. Pure: bytes and text.

/** [guest physical address, bytes] to write into memory. */
export type MemoryWrite = [number, Uint8Array];

export const GDT_ADDRESS = 0x500;
const PML4_ADDRESS = 0x1000;
const PDPT_ADDRESS = 0x2000;
const PD_ADDRESS = 0x3000;
/** four page directories of 512 2 MiB pages: 4 GiB */
const PAGE_DIRECTORIES = 4;
/** Where the boot tables end: an ELF segment may not start below. */
export const BOOT_TABLES_END = PD_ADDRESS + PAGE_DIRECTORIES * 0x1000;
/** The vcpu's first rsp: a guest that sets no stack of its own has 0x8000..0x80000 to use. */
export const BOOT_STACK_TOP = 0x80000;

const PRESENT = 1n;
const WRITABLE = 2n;
const LARGE_PAGE = 0x80n;
const TWO_MIB = 0x200000n;

/** Selectors of the GDT: 0x08 64-bit code, 0x10 data. */
const GDT = [0n, 0x00af9a000000ffffn, 0x00cf92000000ffffn];

function u64Array(values: bigint[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((value, index) => view.setBigUint64(index * 8, value, true));
  return bytes;
}

export function bootTables(): MemoryWrite[] {
  const directories = Array.from({ length: PAGE_DIRECTORIES }, (_, n) => BigInt(PD_ADDRESS + n * 0x1000) | PRESENT | WRITABLE);
  const pages = Array.from({ length: PAGE_DIRECTORIES * 512 }, (_, n) => BigInt(n) * TWO_MIB | PRESENT | WRITABLE | LARGE_PAGE);
  return [
    [GDT_ADDRESS, u64Array(GDT)],
    [PML4_ADDRESS, u64Array([BigInt(PDPT_ADDRESS) | PRESENT | WRITABLE])],
    [PDPT_ADDRESS, u64Array(directories)],
    [PD_ADDRESS, u64Array(pages)],
  ];
}

const flatData = 'base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1';

/**
 * Long mode in one sregs write (KVM takes efer.LMA only with cr0.PG in the
 * same KVM_SET_SREGS): PG|ET|PE, PAE, LME|LMA, the GDT and its segments.
 */
export const longModeSregs = [
  'cr0 0x80000011',
  `cr3 0x${PML4_ADDRESS.toString(16)}`,
  'cr4 0x20',
  'efer 0x500',
  `gdt base=0x${GDT_ADDRESS.toString(16)} limit=0x${(GDT.length * 8 - 1).toString(16)}`,
  'cs base=0x0 limit=0xffffffff selector=0x8 type=0xb present=1 dpl=0 db=0 s=1 l=1 g=1',
  ...['ds', 'es', 'fs', 'gs', 'ss'].map((segment) => `${segment} ${flatData}`),
].join('\n') + '\n';

/** rip at the entry point, interrupts off. */
export function entryRegs(entry: number): string {
  return `rip 0x${entry.toString(16)}\nrsp 0x${BOOT_STACK_TOP.toString(16)}\nrflags 0x2\n`;
}
