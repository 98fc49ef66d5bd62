// Guests for the vcpu state files (fpu, msrs, cpuid, xcrs, debugregs,
// events, nmi), all 64-bit long mode, loaded at 0x1000 by loadVm(...,
// 'long') (identity page tables at 0x2000..0x4fff). Flat binaries of GNU as
// (--64) + ld (-Ttext=0x1000 --oformat=binary) of the assembly in the
// comments. No x87 instructions: they fail on the test host's KVM
// (kvm_pvm), as do SSE instructions other than moves and xgetbv (it runs
// them through KVM's emulator, which lacks them: internal_error).
import type { Mount } from './harness.js';
import { printfBytes, u64 } from './guests.js';

/** cpuid leaf 0, then its ebx, edx, ecx (the vendor, in that order) and leaf 1's eax out to port 0xe9, 4 bytes each; halts. */
export const cpuidVendor = [
  0x31, 0xc0,                   // 0x1000: xor %eax,%eax
  0x0f, 0xa2,                   // 0x1002: cpuid
  0x89, 0xd8,                   // 0x1004: mov %ebx,%eax
  0xe7, 0xe9,                   // 0x1006: out %eax,$0xe9
  0x89, 0xd0,                   // 0x1008: mov %edx,%eax
  0xe7, 0xe9,                   // 0x100a: out %eax,$0xe9
  0x89, 0xc8,                   // 0x100c: mov %ecx,%eax
  0xe7, 0xe9,                   // 0x100e: out %eax,$0xe9
  0xb8, 0x01, 0x00, 0x00, 0x00, // 0x1010: mov $0x1,%eax
  0x0f, 0xa2,                   // 0x1015: cpuid
  0xe7, 0xe9,                   // 0x1017: out %eax,$0xe9
  0xf4,                         // 0x1019: hlt
];

/** rdmsr 0x175 (SYSENTER_ESP), its eax then edx out to port 0xe9; wrmsr 0x174 (SYSENTER_CS) = 0x10; halts. */
export const msrReadWrite = [
  0xb9, 0x75, 0x01, 0x00, 0x00, // 0x1000: mov $0x175,%ecx
  0x0f, 0x32,                   // 0x1005: rdmsr
  0xe7, 0xe9,                   // 0x1007: out %eax,$0xe9
  0x89, 0xd0,                   // 0x1009: mov %edx,%eax
  0xe7, 0xe9,                   // 0x100b: out %eax,$0xe9
  0xb9, 0x74, 0x01, 0x00, 0x00, // 0x100d: mov $0x174,%ecx
  0xb8, 0x10, 0x00, 0x00, 0x00, // 0x1012: mov $0x10,%eax
  0x31, 0xd2,                   // 0x1017: xor %edx,%edx
  0x0f, 0x30,                   // 0x1019: wrmsr
  0xf4,                         // 0x101b: hlt
];
/** What msrReadWrite writes to MSR 0x174. */
export const MSR_WRITTEN = 0x10n;

/** SSE (needs cr4.OSFXSR): stores xmm0 at 0x6000, loads xmm1 from 0x6010; halts. */
export const sseStoreLoad = [
  0x0f, 0x11, 0x04, 0x25, 0x00, 0x60, 0x00, 0x00, // 0x1000: movups %xmm0,0x6000
  0x0f, 0x10, 0x0c, 0x25, 0x10, 0x60, 0x00, 0x00, // 0x1008: movups 0x6010,%xmm1
  0xf4,                                           // 0x1010: hlt
];
export const SSE_STORE = 0x6000;
export const SSE_LOAD = 0x6010;

/**
 * cpuid leaf 0xd subleaf 0, its ebx (the XSAVE area size the features
 * enabled in XCR0 need, which KVM recomputes when xcr0 changes) out to port
 * 0xe9; halts. Needs no cr4.OSXSAVE, and runs where xgetbv does not.
 */
export const xcr0Size = [
  0xb8, 0x0d, 0x00, 0x00, 0x00, // 0x1000: mov $0xd,%eax
  0x31, 0xc9,                   // 0x1005: xor %ecx,%ecx
  0x0f, 0xa2,                   // 0x1007: cpuid
  0x89, 0xd8,                   // 0x1009: mov %ebx,%eax
  0xe7, 0xe9,                   // 0x100b: out %eax,$0xe9
  0xf4,                         // 0x100d: hlt
];

/** (needs cr4.OSXSAVE) xgetbv of XCR0, its eax out to port 0xe9; halts. */
export const xcr0Read = [
  0x31, 0xc9,       // 0x1000: xor %ecx,%ecx
  0x0f, 0x01, 0xd0, // 0x1002: xgetbv
  0xe7, 0xe9,       // 0x1005: out %eax,$0xe9
  0xf4,             // 0x1007: hlt
];

/**
 * Halts, then (resumed) outs 'A' and halts again, in a loop. Its IDT (see
 * withIdt) sends NMI (vector 2) to a handler that outs 'N' and halts, and
 * #DB (vector 1) to one that outs its dr6 (4 bytes) and halts.
 */
export const idtGuest = [
  0xf4,                         // 0x1000: start: hlt
  0xb0, 0x41,                   // 0x1001: after_hlt: mov $0x41,%al
  0xe6, 0xe9,                   // 0x1003: out %al,$0xe9
  0xf4,                         // 0x1005: hlt
  0xeb, 0xf8,                   // 0x1006: jmp start
  ...Array<number>(0x18).fill(0), // 0x1008: .org 0x1020
  0xb0, 0x4e,                   // 0x1020: nmi_handler: mov $0x4e,%al
  0xe6, 0xe9,                   // 0x1022: out %al,$0xe9
  0xf4,                         // 0x1024: hlt
  ...Array<number>(0xb).fill(0), // 0x1025: .org 0x1030
  0x0f, 0x21, 0xf0,             // 0x1030: db_handler: mov %dr6,%rax
  0xe7, 0xe9,                   // 0x1033: out %eax,$0xe9
  0xf4,                         // 0x1035: hlt
];
/** The instruction after idtGuest's first hlt, where a breakpoint can catch it. */
export const IDT_GUEST_AFTER_HLT = 0x1001;
export const NMI_OUT = 0x4e;

const GDT = 0x500;
const IDT = 0x7000;
/** A 64-bit interrupt gate (type 0x8e, present, DPL 0) to `handler` in code segment 0x8. */
function gate(handler: number): number[] {
  return [handler & 0xff, handler >> 8, 0x08, 0x00, 0x00, 0x8e, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
}

/**
 * Gives the long-mode vcpu0 of `vm` (loaded by loadVm) the descriptor
 * tables idtGuest needs: a GDT at 0x500 with the 64-bit code (0x8) and
 * data (0x10) segments loadVm's sregs name (interrupt delivery reads them),
 * an IDT at 0x7000 with vector 1 and 2 gates, and a stack at 0x9000.
 */
export async function withIdt(mount: Mount, vm: string): Promise<void> {
  const gdt = [...u64(0n), ...u64(0x00af9a000000ffffn), ...u64(0x00cf92000000ffffn)];
  const idt = [...Array<number>(16).fill(0), ...gate(0x1030), ...gate(0x1020)];
  await mount.ok(`
    V="$M/${vm}"
    printf '${printfBytes(gdt)}' | dd of="$V/memory" bs=1 seek=${GDT} conv=notrunc status=none
    printf '${printfBytes(idt)}' | dd of="$V/memory" bs=1 seek=${IDT} conv=notrunc status=none
    env printf 'gdt base=${GDT} limit=0x17\\nidt base=${IDT} limit=0x2f\\n' > "$V/vcpu0/sregs"
    echo 'rsp 0x9000' > "$V/vcpu0/regs"
  `);
}
