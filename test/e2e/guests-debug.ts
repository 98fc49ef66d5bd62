// Guests for the debugging tests (debug, translate, kvmfs gdb), in the style
// of guests.ts: flat binaries made with GNU as + objcopy, loaded at GPA 0x1000.
import { u64 } from './guests.js';

/** Real mode: four instructions with effects a single step shows one by one, then halts. ax = 1, 2, 4, then stored at 0x2000. */
export const steps16 = [
  0xb8, 0x01, 0x00, // 0x1000: mov $1, %ax
  0x40,             // 0x1003: inc %ax
  0x01, 0xc0,       // 0x1004: add %ax, %ax
  0xa3, 0x00, 0x20, // 0x1006: mov %ax, 0x2000
  0xf4,             // 0x1009: hlt
];

/**
 * 64-bit long mode, run at virtual 0x401000 (physical 0x1000, through
 * pagedTables): flushes its TLB, reads the byte at virtual 0x402000 and
 * writes it to port 0xe9, then halts. Which byte it reads is where the
 * page tables map 0x402000.
 */
export const readMapped64 = [
  0x0f, 0x20, 0xd8,                         // 0x401000: mov %cr3, %rax
  0x0f, 0x22, 0xd8,                         // 0x401003: mov %rax, %cr3
  0x8a, 0x04, 0x25, 0x00, 0x20, 0x40, 0x00, // 0x401006: mov 0x402000, %al
  0xe6, 0xe9,                               // 0x40100d: out %al, $0xe9
  0xf4,                                     // 0x40100f: hlt
];

/** Physical pages whose first byte readMapped64 prints, depending on the mapping. */
export const DATA_X = 0x6000;
export const DATA_Y = 0x7000;
/** Where the page-table entry for virtual 0x402000 is (PT at 0x5000, entry 2). */
export const PTE_402000 = 0x5010;

/**
 * 4 KiB page tables for longModeSregs (cr3 0x2000): PML4 0x2000 -> PDPT
 * 0x3000 -> PD 0x4000; PD entry 0 maps the first 2 MiB 1:1 (the tables
 * themselves), PD entry 2 -> PT 0x5000 for 0x400000-0x5fffff, in which
 * 0x401000 -> 0x1000 (the code) and 0x402000 -> DATA_X, read-only.
 * Nothing else in that range is mapped. [gpa, entry] pairs.
 */
export const pagedTables: Array<[number, number[]]> = [
  [0x2000, u64(0x3003n)],
  [0x3000, u64(0x4003n)],
  [0x4000, u64(0x83n)],
  [0x4010, u64(0x5003n)],
  [0x5008, u64(0x1003n)],
  [PTE_402000, u64(BigInt(DATA_X) | 1n)],
];

/**
 * 64-bit long mode (identity tables of guests.ts): counts in rax in a loop
 * of exits-free instructions, storing it at 0x5000 (clear of the
 * identity page tables at 0x2000-0x4000), forever. For gdb: break,
 * step, watch and Ctrl-C on a spinning guest.
 */
export const loop64 = [
  0x48, 0x31, 0xc0,                                     // 0x1000: xor %rax, %rax
  0x48, 0xff, 0xc0,                                     // 0x1003: 1: inc %rax
  0x48, 0x89, 0x04, 0x25, 0x00, 0x50, 0x00, 0x00,       // 0x1006: mov %rax, 0x5000
  0xeb, 0xf3,                                           // 0x100e: jmp 1b
];

/**
 * Real mode: sets its own vector 3 (IVT entry at 0xc) to a handler that
 * writes 0x03 to port 0x80 and halts, then runs an int3. With software
 * breakpoints honoured the int3 exits to kvmfs instead.
 */
export const int3Guest = [
  0xbc, 0x00, 0x30,                   // 0x1000: mov $0x3000, %sp
  0xc7, 0x06, 0x0c, 0x00, 0x13, 0x10, // 0x1003: movw $handler, 3*4
  0xc7, 0x06, 0x0e, 0x00, 0x00, 0x00, // 0x1009: movw $0, 3*4+2
  0xcc,                               // 0x100f: int3
  0xf4,                               // 0x1010: hlt
  0x90, 0x90,                         // 0x1011: nop; nop
  0xb0, 0x03,                         // 0x1013: handler: mov $3, %al
  0xe6, 0x80,                         // 0x1015: out %al, $0x80
  0xf4,                               // 0x1017: hlt
];
