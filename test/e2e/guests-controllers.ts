// Guests for the interrupt-controller, timer and stats tests, in the style of
// guests.ts: the flat binary GNU as + ld (-Ttext=0x1000) + objcopy -O binary
// made of the assembly in the comments, loaded at GPA 0x1000.
import type { Mount } from './harness.js';
import { printfBytes } from './guests.js';

/** Where timerGuest counts its timer ticks (u16) and its IRQ1 interrupts (u16). */
export const TICKS_AT = 0x500;
export const IRQ1_AT = 0x502;

/**
 * Real mode: points IVT[0x20] at a timer handler and IVT[0x21] at an IRQ1
 * handler, initialises both PICs (master vectors 0x20.., slave 0x28..,
 * master imr 0xfc: IRQ0 and IRQ1 open, slave imr 0xff), programs PIT
 * channel 0 as a rate generator (mode 2, lo/hi) with divisor 11932
 * (0x2e9c: 100 Hz), then `sti; hlt` for ever. The timer handler counts at
 * 0x500; the IRQ1 handler counts at 0x502 and outs 0x21 to port 0xe9.
 * Both send the master PIC a non-specific EOI.
 */
export const timerGuest = [
  0xfa,                               // 0x1000: cli
  0x31, 0xc0,                         // 0x1001: xor %ax, %ax
  0x8e, 0xd8,                         // 0x1003: mov %ax, %ds
  0x8e, 0xd0,                         // 0x1005: mov %ax, %ss
  0xbc, 0x00, 0x70,                   // 0x1007: mov $0x7000, %sp
  0xc7, 0x06, 0x80, 0x00, 0x56, 0x10, // 0x100a: movw $timer, 0x80
  0xc7, 0x06, 0x82, 0x00, 0x00, 0x00, // 0x1010: movw $0, 0x82
  0xc7, 0x06, 0x84, 0x00, 0x61, 0x10, // 0x1016: movw $irq1, 0x84
  0xc7, 0x06, 0x86, 0x00, 0x00, 0x00, // 0x101c: movw $0, 0x86
  0xb0, 0x11,                         // 0x1022: mov $0x11, %al       (ICW1: edge, cascade, ICW4)
  0xe6, 0x20,                         // 0x1024: out %al, $0x20
  0xe6, 0xa0,                         // 0x1026: out %al, $0xa0
  0xb0, 0x20,                         // 0x1028: mov $0x20, %al       (ICW2: master vector base)
  0xe6, 0x21,                         // 0x102a: out %al, $0x21
  0xb0, 0x28,                         // 0x102c: mov $0x28, %al       (ICW2: slave vector base)
  0xe6, 0xa1,                         // 0x102e: out %al, $0xa1
  0xb0, 0x04,                         // 0x1030: mov $0x4, %al        (ICW3: slave on IRQ2)
  0xe6, 0x21,                         // 0x1032: out %al, $0x21
  0xb0, 0x02,                         // 0x1034: mov $0x2, %al        (ICW3: slave id 2)
  0xe6, 0xa1,                         // 0x1036: out %al, $0xa1
  0xb0, 0x01,                         // 0x1038: mov $0x1, %al        (ICW4: 8086 mode)
  0xe6, 0x21,                         // 0x103a: out %al, $0x21
  0xe6, 0xa1,                         // 0x103c: out %al, $0xa1
  0xb0, 0xfc,                         // 0x103e: mov $0xfc, %al       (OCW1: IRQ0, IRQ1 open)
  0xe6, 0x21,                         // 0x1040: out %al, $0x21
  0xb0, 0xff,                         // 0x1042: mov $0xff, %al
  0xe6, 0xa1,                         // 0x1044: out %al, $0xa1
  0xb0, 0x34,                         // 0x1046: mov $0x34, %al       (PIT: ch0, lo/hi, mode 2)
  0xe6, 0x43,                         // 0x1048: out %al, $0x43
  0xb0, 0x9c,                         // 0x104a: mov $0x9c, %al
  0xe6, 0x40,                         // 0x104c: out %al, $0x40
  0xb0, 0x2e,                         // 0x104e: mov $0x2e, %al
  0xe6, 0x40,                         // 0x1050: out %al, $0x40
  0xfb,                               // 0x1052: sti
  0xf4,                               // 0x1053: 1: hlt
  0xeb, 0xfd,                         // 0x1054: jmp 1b
  0xff, 0x06, 0x00, 0x05,             // 0x1056: timer: incw 0x500
  0x50,                               // 0x105a: push %ax
  0xb0, 0x20,                         // 0x105b: mov $0x20, %al
  0xe6, 0x20,                         // 0x105d: out %al, $0x20
  0x58,                               // 0x105f: pop %ax
  0xcf,                               // 0x1060: iret
  0xff, 0x06, 0x02, 0x05,             // 0x1061: irq1: incw 0x502
  0x50,                               // 0x1065: push %ax
  0xb0, 0x20,                         // 0x1066: mov $0x20, %al
  0xe6, 0x20,                         // 0x1068: out %al, $0x20
  0xb0, 0x21,                         // 0x106a: mov $0x21, %al
  0xe6, 0xe9,                         // 0x106c: out %al, $0xe9
  0x58,                               // 0x106e: pop %ax
  0xcf,                               // 0x106f: iret
];

/** The sregs apicGuest needs: fs at the local APIC's page, gs at the IOAPIC's (real-mode segments with those bases). */
export const apicGuestSregs = 'fs base=0xfee00000\ngs base=0xfec00000\n';

/**
 * Real mode, with fs based at the local APIC (0xfee00000) and gs at the
 * IOAPIC (0xfec00000): points IVT[0x31] and IVT[0x32] at two handlers,
 * masks both PICs, enables its local APIC (svr 0x1ff: spurious vector
 * 0xff), masks LINT0 (lvt_lint0 0x10700: masked ExtINT), programs IOAPIC
 * pin 3 to vector 0x31 (fixed, edge, physical, destination 0, unmasked),
 * then `sti; hlt` for ever. Each handler sends the local APIC an EOI and
 * outs its vector to port 0xe9.
 */
export const apicGuest = [
  0xfa,                                                 // 0x1000: cli
  0x31, 0xc0,                                           // 0x1001: xor %ax, %ax
  0x8e, 0xd8,                                           // 0x1003: mov %ax, %ds
  0x8e, 0xd0,                                           // 0x1005: mov %ax, %ss
  0xbc, 0x00, 0x70,                                     // 0x1007: mov $0x7000, %sp
  0xc7, 0x06, 0xc4, 0x00, 0x68, 0x10,                   // 0x100a: movw $h31, 0xc4
  0xc7, 0x06, 0xc6, 0x00, 0x00, 0x00,                   // 0x1010: movw $0, 0xc6
  0xc7, 0x06, 0xc8, 0x00, 0x6d, 0x10,                   // 0x1016: movw $h32, 0xc8
  0xc7, 0x06, 0xca, 0x00, 0x00, 0x00,                   // 0x101c: movw $0, 0xca
  0xb0, 0xff,                                           // 0x1022: mov $0xff, %al
  0xe6, 0x21,                                           // 0x1024: out %al, $0x21
  0xe6, 0xa1,                                           // 0x1026: out %al, $0xa1
  0x64, 0x66, 0xc7, 0x06, 0xf0, 0x00, 0xff, 0x01, 0x00, 0x00, // 0x1028: movl $0x1ff, %fs:0xf0     (svr)
  0x64, 0x66, 0xc7, 0x06, 0x50, 0x03, 0x00, 0x07, 0x01, 0x00, // 0x1032: movl $0x10700, %fs:0x350 (lvt_lint0)
  0x65, 0x66, 0xc7, 0x06, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, // 0x103c: movl $0x16, %gs:0x0      (IOREGSEL: pin 3 low)
  0x65, 0x66, 0xc7, 0x06, 0x10, 0x00, 0x31, 0x00, 0x00, 0x00, // 0x1046: movl $0x31, %gs:0x10     (IOWIN)
  0x65, 0x66, 0xc7, 0x06, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, // 0x1050: movl $0x17, %gs:0x0      (pin 3 high)
  0x65, 0x66, 0xc7, 0x06, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, // 0x105a: movl $0x0, %gs:0x10
  0xfb,                                                 // 0x1064: sti
  0xf4,                                                 // 0x1065: 1: hlt
  0xeb, 0xfd,                                           // 0x1066: jmp 1b
  0x50,                                                 // 0x1068: h31: push %ax
  0xb0, 0x31,                                           // 0x1069: mov $0x31, %al
  0xeb, 0x03,                                           // 0x106b: jmp 2f
  0x50,                                                 // 0x106d: h32: push %ax
  0xb0, 0x32,                                           // 0x106e: mov $0x32, %al
  0x64, 0x66, 0xc7, 0x06, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x00, // 0x1070: 2: movl $0, %fs:0xb0 (EOI)
  0xe6, 0xe9,                                           // 0x107a: out %al, $0xe9
  0x58,                                                 // 0x107c: pop %ax
  0xcf,                                                 // 0x107d: iret
];

/** 32-bit protected mode: seven `out %al, $0xe9` (al = 0x2a), then halts: seven io exits. */
export const sevenOuts = [
  0xb9, 0x07, 0x00, 0x00, 0x00, // 0x1000: mov $7, %ecx
  0xb0, 0x2a,                   // 0x1005: mov $0x2a, %al
  0xe6, 0xe9,                   // 0x1007: 1: out %al, $0xe9
  0xe2, 0xfc,                   // 0x1009: loop 1b
  0xf4,                         // 0x100b: hlt
];

/** Where kvmClockGuest asks KVM to keep its struct pvclock_vcpu_time_info; system_time (ns, u64) is at +16. */
export const PVCLOCK_AT = 0x5000;
export const PVCLOCK_SYSTEM_TIME_AT = PVCLOCK_AT + 16;

/**
 * Real mode: enables kvmclock (wrmsr MSR_KVM_SYSTEM_TIME_NEW = 0x5000 | 1),
 * so KVM writes the VM clock into its page at the next entry, then outs
 * 'K' to port 0xe9 and halts.
 */
export const kvmClockGuest = [
  0x66, 0xb9, 0x01, 0x4d, 0x56, 0x4b, // 0x1000: mov $0x4b564d01, %ecx
  0x66, 0xb8, 0x01, 0x50, 0x00, 0x00, // 0x1006: mov $0x5001, %eax
  0x66, 0x31, 0xd2,                   // 0x100c: xor %edx, %edx
  0x0f, 0x30,                         // 0x100f: wrmsr
  0xb0, 0x4b,                         // 0x1011: mov $'K', %al
  0xe6, 0xe9,                         // 0x1013: out %al, $0xe9
  0xf4,                               // 0x1015: hlt
];

/**
 * `vmName` with `code` at 0x1000 in real mode and 1 MiB of RAM; before its
 * vcpu0 is made, `before` runs in the VM's directory ($V): it is where the
 * irqchip is created, which KVM allows only before any vcpu.
 */
export async function realModeVmWith(mount: Mount, vmName: string, code: number[], before: string, sregs = ''): Promise<void> {
  await mount.ok(`
    V="$M/${vmName}"
    mkdir "$V"
    ${before}
    truncate -s 1M "$V/memory" && mkdir "$V/vcpu0"
    printf '${printfBytes(code)}' | dd of="$V/memory" bs=4096 seek=1 conv=notrunc status=none
    env printf '%s' 'cs base=0 selector=0
${sregs}' > "$V/vcpu0/sregs"
    echo 'rip 0x1000' > "$V/vcpu0/regs"
  `);
}

/** A shell expression for the u16 at `gpa` of the VM's memory, in decimal. */
export function u16At(vmName: string, gpa: number): string {
  return `$(od -An -tu2 -j ${gpa} -N2 "$M/${vmName}/memory" | tr -d ' ')`;
}
