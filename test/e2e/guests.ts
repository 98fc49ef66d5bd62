// Small hand-assembled guests for the end-to-end tests, and the helpers that
// load them. Each array is the flat binary GNU as + ld (-Ttext=0x1000) +
// objcopy -O binary made of the assembly in the comments; every guest is
// loaded at GPA 0x1000 and starts there. Addresses in the comments are
// guest physical (cs base 0, or flat segments).
import type { Mount } from './harness.js';

const ascii = (text: string): number[] => [...Buffer.from(text, 'latin1')];
const asciz = (text: string): number[] => [...ascii(text), 0];

/** Real mode: prints "Hello from real mode!\n" to port 0xe9, one `out` per byte, then halts. */
export const hello16 = [
  0xbe, 0x0f, 0x10,                    // 0x1000: mov $msg, %si
  0xba, 0xe9, 0x00,                    // 0x1003: mov $0xe9, %dx
  0xac,                                // 0x1006: 1: lodsb
  0x84, 0xc0,                          // 0x1007: test %al, %al
  0x74, 0x03,                          // 0x1009: jz 2f
  0xee,                                // 0x100b: out %al, %dx
  0xeb, 0xf8,                          // 0x100c: jmp 1b
  0xf4,                                // 0x100e: 2: hlt
  ...asciz('Hello from real mode!\n'), // 0x100f: msg: .asciz "Hello from real mode!\n"
];

/** 32-bit protected mode (flat segments, paging off): prints "Hello from protected mode!\n" to port 0xe9, then halts. */
export const hello32 = [
  0xbe, 0x12, 0x10, 0x00, 0x00,             // 0x1000: mov $msg, %esi
  0x66, 0xba, 0xe9, 0x00,                   // 0x1005: mov $0xe9, %dx
  0xac,                                     // 0x1009: 1: lodsb
  0x84, 0xc0,                               // 0x100a: test %al, %al
  0x74, 0x03,                               // 0x100c: jz 2f
  0xee,                                     // 0x100e: out %al, %dx
  0xeb, 0xf8,                               // 0x100f: jmp 1b
  0xf4,                                     // 0x1011: 2: hlt
  ...asciz('Hello from protected mode!\n'), // 0x1012: msg: .asciz "Hello from protected mode!\n"
];

/** 64-bit long mode (identity-mapped by page tables the test writes): prints "Hello from long mode!\n" to port 0xe9, then halts. */
export const hello64 = [
  0x48, 0x8d, 0x35, 0x0d, 0x00, 0x00, 0x00, // 0x1000: lea msg(%rip), %rsi
  0x66, 0xba, 0xe9, 0x00,                   // 0x1007: mov $0xe9, %dx
  0xac,                                     // 0x100b: 1: lodsb
  0x84, 0xc0,                               // 0x100c: test %al, %al
  0x74, 0x03,                               // 0x100e: jz 2f
  0xee,                                     // 0x1010: out %al, %dx
  0xeb, 0xf8,                               // 0x1011: jmp 1b
  0xf4,                                     // 0x1013: 2: hlt
  ...asciz('Hello from long mode!\n'),      // 0x1014: msg: .asciz "Hello from long mode!\n"
];

/** Real mode: `out` of 1, 2 and 4 bytes to port 0xe9 (0x48, 0x1234, 0xdeadbeef), one byte to port 0x80 (0x07), then halts. */
export const outSizes = [
  0xba, 0xe9, 0x00,                   // 0x1000: mov $0xe9, %dx
  0xb0, 0x48,                         // 0x1003: mov $0x48, %al
  0xee,                               // 0x1005: out %al, %dx
  0xb8, 0x34, 0x12,                   // 0x1006: mov $0x1234, %ax
  0xef,                               // 0x1009: out %ax, %dx
  0x66, 0xb8, 0xef, 0xbe, 0xad, 0xde, // 0x100a: mov $0xdeadbeef, %eax
  0x66, 0xef,                         // 0x1010: out %eax, %dx
  0xb0, 0x07,                         // 0x1012: mov $0x07, %al
  0xe6, 0x80,                         // 0x1014: out %al, $0x80
  0xf4,                               // 0x1016: hlt
];

/** Real mode: `rep outsb` of "Hello" (5 bytes) to port 0xe9, then halts. */
export const outsString = [
  0xba, 0xe9, 0x00,  // 0x1000: mov $0xe9, %dx
  0xbe, 0x0d, 0x10,  // 0x1003: mov $msg, %si
  0xb9, 0x05, 0x00,  // 0x1006: mov $5, %cx
  0xfc,              // 0x1009: cld
  0xf3, 0x6e,        // 0x100a: rep outsb
  0xf4,              // 0x100c: hlt
  ...ascii('Hello'), // 0x100d: msg: .ascii "Hello"
];

/** Real mode: reads a byte from port 0x60 and writes it back to port 0xe9, then a dword from port 0x64 back to 0xe9; halts. The registers are preloaded with all ones, so a zero that comes back was delivered. */
export const echoIn = [
  0xb0, 0xff,                         // 0x1000: mov $0xff, %al
  0xe4, 0x60,                         // 0x1002: in $0x60, %al
  0xe6, 0xe9,                         // 0x1004: out %al, $0xe9
  0xba, 0x64, 0x00,                   // 0x1006: mov $0x64, %dx
  0x66, 0xb8, 0xff, 0xff, 0xff, 0xff, // 0x1009: mov $0xffffffff, %eax
  0x66, 0xed,                         // 0x100f: in %dx, %eax
  0x66, 0xe7, 0xe9,                   // 0x1011: out %eax, $0xe9
  0xf4,                               // 0x1014: hlt
];

/** Real mode: `rep insb` of 3 bytes from port 0x60 to 0x3000, `rep outsb` of them to port 0xe9, then halts. */
export const insb3 = [
  0xfc,             // 0x1000: cld
  0xba, 0x60, 0x00, // 0x1001: mov $0x60, %dx
  0xbf, 0x00, 0x30, // 0x1004: mov $0x3000, %di
  0xb9, 0x03, 0x00, // 0x1007: mov $3, %cx
  0xf3, 0x6c,       // 0x100a: rep insb
  0xba, 0xe9, 0x00, // 0x100c: mov $0xe9, %dx
  0xbe, 0x00, 0x30, // 0x100f: mov $0x3000, %si
  0xb9, 0x03, 0x00, // 0x1012: mov $3, %cx
  0xf3, 0x6e,       // 0x1015: rep outsb
  0xf4,             // 0x1017: hlt
];

/** 32-bit protected mode: reads a dword from 0xd0000000 (outside RAM) and writes it back there, writes a byte to 0xd0000010 and a word to 0xd0000020, then halts. */
export const mmio32 = [
  0xa1, 0x00, 0x00, 0x00, 0xd0,                         // 0x1000: mov 0xd0000000, %eax
  0xa3, 0x00, 0x00, 0x00, 0xd0,                         // 0x1005: mov %eax, 0xd0000000
  0xc6, 0x05, 0x10, 0x00, 0x00, 0xd0, 0x5a,             // 0x100a: movb $0x5a, 0xd0000010
  0x66, 0xc7, 0x05, 0x20, 0x00, 0x00, 0xd0, 0xef, 0xbe, // 0x1011: movw $0xbeef, 0xd0000020
  0xf4,                                                 // 0x101a: hlt
];

/** Real mode with 64 KiB of RAM: reads a byte at 0x20010 (ds=0x2000, unbacked), stores it at 0x3000 and outs it to port 0xe9, then halts. */
export const mmio16 = [
  0xb8, 0x00, 0x20, // 0x1000: mov $0x2000, %ax
  0x8e, 0xd8,       // 0x1003: mov %ax, %ds
  0xa0, 0x10, 0x00, // 0x1005: movb (0x10), %al
  0xbb, 0x00, 0x00, // 0x1008: movw $0, %bx
  0x8e, 0xdb,       // 0x100b: mov %bx, %ds
  0xa2, 0x00, 0x30, // 0x100d: mov %al, 0x3000
  0xe6, 0xe9,       // 0x1010: out %al, $0xe9
  0xf4,             // 0x1012: hlt
];

/** 32-bit protected mode: loads an empty IDT (limit 0) and executes ud2: #UD, then #GP, then #DF cannot be delivered, a triple fault. */
export const tripleFault = [
  0x0f, 0x01, 0x1d, 0x09, 0x10, 0x00, 0x00, // 0x1000: lidt zero
  0x0f, 0x0b,                               // 0x1007: ud2
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00,       // 0x1009: zero: .word 0, 0, 0
];

/** Real mode: `jmp .` forever, no exits. */
export const spin = [
  0xeb, 0xfe, // 0x1000: 1: jmp 1b
];

/** Real mode with 64 KiB of RAM: jumps to 0x2000:0 (GPA 0x20000, no memory there); KVM cannot fetch the instruction. */
export const unbacked = [
  0xea, 0x00, 0x00, 0x00, 0x20, // 0x1000: ljmp $0x2000, $0
];

/** Real mode: points IVT[32] at a handler, then `sti; hlt` in a loop. The handler increments the byte at 0x2000 and outs it to port 0xe9. */
export const interrupt = [
  0xbc, 0x00, 0x10,                   // 0x1000: mov $0x1000, %sp
  0xc7, 0x06, 0x80, 0x00, 0x13, 0x10, // 0x1003: movw $handler, 32*4
  0xc7, 0x06, 0x82, 0x00, 0x00, 0x00, // 0x1009: movw $0, 32*4+2
  0xfb,                               // 0x100f: idle: sti
  0xf4,                               // 0x1010: hlt
  0xeb, 0xfc,                         // 0x1011: jmp idle
  0xfe, 0x06, 0x00, 0x20,             // 0x1013: handler: incb 0x2000
  0xa0, 0x00, 0x20,                   // 0x1017: mov 0x2000, %al
  0xe6, 0xe9,                         // 0x101a: out %al, $0xe9
  0xcf,                               // 0x101c: iret
];

/** Real mode: like interrupt, but spins in `jmp .` with interrupts enabled instead of halting: a vector queued while it runs is taken at once. */
export const interruptSpin = [
  0xbc, 0x00, 0x10,                   // 0x1000: mov $0x1000, %sp
  0xc7, 0x06, 0x80, 0x00, 0x12, 0x10, // 0x1003: movw $handler, 32*4
  0xc7, 0x06, 0x82, 0x00, 0x00, 0x00, // 0x1009: movw $0, 32*4+2
  0xfb,                               // 0x100f: sti
  0xeb, 0xfe,                         // 0x1010: 1: jmp 1b
  0xfe, 0x06, 0x00, 0x20,             // 0x1012: handler: incb 0x2000
  0xa0, 0x00, 0x20,                   // 0x1016: mov 0x2000, %al
  0xe6, 0xe9,                         // 0x1019: out %al, $0xe9
  0xcf,                               // 0x101b: iret
];

/** Real mode: outs 'A', 'B', 'C' to port 0xe9, then halts. */
export const threeOuts = [
  0xb0, 0x41, // 0x1000: mov $'A', %al
  0xe6, 0xe9, // 0x1002: out %al, $0xe9
  0xb0, 0x42, // 0x1004: mov $'B', %al
  0xe6, 0xe9, // 0x1006: out %al, $0xe9
  0xb0, 0x43, // 0x1008: mov $'C', %al
  0xe6, 0xe9, // 0x100a: out %al, $0xe9
  0xf4,       // 0x100c: hlt
];

/** Real mode, an exit loop for parallel runs: increments ax, stores it at (bx), outs it to port dx, forever. The test sets bx and dx per vcpu. */
export const counter = [
  0x40,       // 0x1000: 1: inc %ax
  0x89, 0x07, // 0x1001: mov %ax, (%bx)
  0xef,       // 0x1003: out %ax, %dx
  0xeb, 0xfa, // 0x1004: jmp 1b
];

/** Real mode: increments the dword at 0x2000 until the byte at 0x2100 is non-zero, then outs that byte to port 0xe9 and halts. Spins with no exits until someone writes 0x2100. */
export const watch = [
  0x66, 0xff, 0x06, 0x00, 0x20, // 0x1000: 1: incl 0x2000
  0x80, 0x3e, 0x00, 0x21, 0x00, // 0x1005: cmpb $0, 0x2100
  0x74, 0xf4,                   // 0x100a: je 1b
  0xa0, 0x00, 0x21,             // 0x100c: mov 0x2100, %al
  0xe6, 0xe9,                   // 0x100f: out %al, $0xe9
  0xf4,                         // 0x1011: hlt
];

/** Real mode, no stack: writes exactly three pages (0x5000, 0xc000 and, through es, 0x45000), then halts. */
export const dirty3 = [
  0xc6, 0x06, 0x00, 0x50, 0x01,                               // 0x1000: movb $1, 0x5000
  0xc7, 0x06, 0xfe, 0xcf, 0x02, 0x00,                         // 0x1005: movw $2, 0xcffe
  0xb8, 0x00, 0x40,                                           // 0x100b: mov $0x4000, %ax
  0x8e, 0xc0,                                                 // 0x100e: mov %ax, %es
  0x26, 0x66, 0xc7, 0x06, 0xf0, 0x5f, 0x03, 0x00, 0x00, 0x00, // 0x1010: movl $3, %es:0x5ff0
  0xf4,                                                       // 0x101a: hlt
];

/** Real mode with 64 KiB of RAM: a sequence of different exits (outs of 1, 2 and 4 bytes, two `in`, a `rep insb` of 3, an mmio write and an mmio read at 0x20000+, hlt); stores what it read at 0x3000, 0x3001, 0x3010 and 0x3020. */
export const sequence = [
  0xfc,                               // 0x1000: cld
  0xba, 0xe9, 0x00,                   // 0x1001: mov $0xe9, %dx
  0xb0, 0x4b,                         // 0x1004: mov $'K', %al
  0xee,                               // 0x1006: out %al, %dx
  0xb8, 0x34, 0x12,                   // 0x1007: mov $0x1234, %ax
  0xef,                               // 0x100a: out %ax, %dx
  0xe4, 0x60,                         // 0x100b: in $0x60, %al
  0xa2, 0x00, 0x30,                   // 0x100d: mov %al, 0x3000
  0xee,                               // 0x1010: out %al, %dx
  0xb0, 0xff,                         // 0x1011: mov $0xff, %al
  0xe4, 0x61,                         // 0x1013: in $0x61, %al
  0xa2, 0x01, 0x30,                   // 0x1015: mov %al, 0x3001
  0xba, 0x60, 0x00,                   // 0x1018: mov $0x60, %dx
  0xbf, 0x10, 0x30,                   // 0x101b: mov $0x3010, %di
  0xb9, 0x03, 0x00,                   // 0x101e: mov $3, %cx
  0xf3, 0x6c,                         // 0x1021: rep insb
  0xb8, 0x00, 0x20,                   // 0x1023: mov $0x2000, %ax
  0x8e, 0xd8,                         // 0x1026: mov %ax, %ds
  0xc7, 0x06, 0x10, 0x00, 0xef, 0xbe, // 0x1028: movw $0xbeef, (0x10)
  0x66, 0xa1, 0x20, 0x00,             // 0x102e: mov (0x20), %eax
  0x31, 0xdb,                         // 0x1032: xor %bx, %bx
  0x8e, 0xdb,                         // 0x1034: mov %bx, %ds
  0x66, 0xa3, 0x20, 0x30,             // 0x1036: mov %eax, 0x3020
  0xba, 0xe9, 0x00,                   // 0x103a: mov $0xe9, %dx
  0x66, 0xef,                         // 0x103d: out %eax, %dx
  0xf4,                               // 0x103f: hlt
];

/** printf(1) escapes for `bytes`, to pipe into dd. */
export function printfBytes(bytes: number[]): string {
  return bytes.map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
}

/** Little-endian bytes of a 64-bit value. */
export function u64(value: bigint): number[] {
  return Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(8 * i)) & 0xffn));
}

/**
 * 32-bit protected mode, flat 4 GiB segments, paging off (cr0 = PE|ET), in
 * one write: KVM_SET_SREGS takes the whole set at once.
 */
export const protectedModeSregs = `cr0 0x11
cs base=0x0 limit=0xffffffff selector=0x8 type=0xb present=1 dpl=0 db=1 s=1 l=0 g=1
ds base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
es base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
ss base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
`;

/**
 * 64-bit long mode: cr0 = PG|ET|PE, cr3 = the PML4 at 0x2000, cr4 = PAE,
 * efer = LMA|LME, a 64-bit code segment (l=1, db=0).
 */
export const longModeSregs = `cr0 0x80000011
cr3 0x2000
cr4 0x20
efer 0x500
cs base=0x0 limit=0xffffffff selector=0x8 type=0xb present=1 dpl=0 db=0 s=1 l=1 g=1
ds base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
es base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
ss base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
`;

/**
 * Identity page tables for the first 2 MiB: PML4 at 0x2000 -> PDPT at
 * 0x3000 -> PD at 0x4000, whose entry 0 is a 2 MiB page at 0
 * (0x1 present, 0x2 writable, 0x80 page size). [gpa, 8-byte entry] pairs.
 */
export const identityPageTables: Array<[number, number[]]> = [
  [0x2000, u64(0x3003n)],
  [0x3000, u64(0x4003n)],
  [0x4000, u64(0x83n)],
];

/**
 * `vmName` with a vcpu0, `memory` of RAM and `code` at 0x1000, rip 0x1000,
 * in `mode`: 'protected' (flat, paging off) or 'long' (with identity page
 * tables written with printf | dd). Only shell tools touch the mount.
 */
export async function loadVm(mount: Mount, vmName: string, code: number[], mode: 'protected' | 'long', memory = '1M'): Promise<void> {
  const tables = mode === 'long'
    ? identityPageTables.map(([gpa, entry]) =>
      `printf '${printfBytes(entry)}' | dd of="$V/memory" bs=1 seek=${gpa} conv=notrunc status=none`).join('\n')
    : '';
  await mount.ok(`
    V="$M/${vmName}"
    mkdir "$V" && truncate -s ${memory} "$V/memory" && mkdir "$V/vcpu0"
    printf '${printfBytes(code)}' | dd of="$V/memory" bs=4096 seek=1 conv=notrunc status=none
    ${tables}
    cat > "$V/vcpu0/sregs" <<'SREGS'
${mode === 'long' ? longModeSregs : protectedModeSregs}SREGS
    echo 'rip 0x1000' > "$V/vcpu0/regs"
  `);
}

/** The value of one register in the text of a regs file. */
export function reg(regsText: string, name: string): bigint {
  const match = new RegExp(`^${name} (0x[0-9a-f]{16})$`, 'm').exec(regsText);
  if (!match) throw new Error(`no ${name} in:\n${regsText}`);
  return BigInt(match[1]!);
}

/**
 * A shell loop that runs `$V/vcpu0/run` (V = the VM's directory) until hlt
 * (at most `limit` runs) and prints every exit line.
 */
export function runUntilHlt(vm: string, vcpu = 'vcpu0', limit = 200): string {
  return `
    n=0
    while [ $n -lt ${limit} ]; do
      line=$(cat "$M/${vm}/${vcpu}/run")
      echo "$line"
      [ "$line" = hlt ] && break
      n=$((n + 1))
    done
  `;
}

/** The bytes a list of exit lines wrote to `port` with `io out`, in order. */
export function outBytes(lines: string[], port = 0xe9): number[] {
  const bytes: number[] = [];
  const portText = `0x${port.toString(16).padStart(4, '0')}`;
  for (const line of lines) {
    const match = /^io out port=(0x[0-9a-f]{4}) size=(\d+) count=(\d+) data=(\S+)$/.exec(line);
    if (!match || match[1] !== portText) continue;
    const size = Number(match[2]);
    for (const value of match[4]!.split(',')) {
      const v = BigInt(value);
      for (let i = 0; i < size; i++) bytes.push(Number((v >> BigInt(8 * i)) & 0xffn));
    }
  }
  return bytes;
}
