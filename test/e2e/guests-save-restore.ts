// Guests for the save/restore tests: long-mode programs whose every later
// output depends on the state a save must carry. Each runs 8 steps; a step
// updates a xorshift64 state in rbx, adds the value the previous step stored
// (memory), stores the sum in a fresh page (0x100000 + 0x1000 * step), outs
// its low 32 bits to port 0xe9 and halts. A hlt exit leaves nothing pending in
// KVM (unlike an io exit, which KVM completes on the next KVM_RUN), so each
// hlt is a point at which a save is exact. After the last step the guest
// outs its results to 0xe9 and one byte to port 0xf4, then halts.
// Assembled with GNU as (--64) + ld -Ttext=0x1000 + objcopy -O binary.

/** Regs and memory only: rbx, rdi, r12 and the stored values carry the state across a save. */
export const xorshiftSteps = [
  0x48, 0xbb, 0x15, 0x7c, 0x4a, 0x7f, 0xb9, 0x79, 0x37, 0x9e, // 0x1000: mov $0x9e3779b97f4a7c15, %rbx
  0x48, 0xc7, 0xc7, 0x00, 0x00, 0x10, 0x00,                   // 0x100a: mov $0x100000, %rdi
  0x41, 0xbc, 0x08, 0x00, 0x00, 0x00,                         // 0x1011: mov $8, %r12d
  0x48, 0x89, 0xd8,                                           // 0x1017: step: mov %rbx, %rax
  0x48, 0xc1, 0xe0, 0x0d,                                     // 0x101a: shl $13, %rax
  0x48, 0x31, 0xc3,                                           // 0x101e: xor %rax, %rbx
  0x48, 0x89, 0xd8,                                           // 0x1021: mov %rbx, %rax
  0x48, 0xc1, 0xe8, 0x07,                                     // 0x1024: shr $7, %rax
  0x48, 0x31, 0xc3,                                           // 0x1028: xor %rax, %rbx
  0x48, 0x89, 0xd8,                                           // 0x102b: mov %rbx, %rax
  0x48, 0xc1, 0xe0, 0x11,                                     // 0x102e: shl $17, %rax
  0x48, 0x31, 0xc3,                                           // 0x1032: xor %rax, %rbx
  0x48, 0x03, 0x9f, 0x00, 0xf0, 0xff, 0xff,                   // 0x1035: add -0x1000(%rdi), %rbx
  0x48, 0x89, 0x1f,                                           // 0x103c: mov %rbx, (%rdi)
  0x48, 0x81, 0xc7, 0x00, 0x10, 0x00, 0x00,                   // 0x103f: add $0x1000, %rdi
  0x89, 0xd8,                                                 // 0x1046: mov %ebx, %eax
  0xe7, 0xe9,                                                 // 0x1048: out %eax, $0xe9
  0xf4,                                                       // 0x104a: hlt
  0x41, 0xff, 0xcc,                                           // 0x104b: dec %r12d
  0x75, 0xc7,                                                 // 0x104e: jnz step
  0x48, 0x89, 0xd8,                                           // 0x1050: mov %rbx, %rax
  0x48, 0xc1, 0xe8, 0x20,                                     // 0x1053: shr $32, %rax
  0xe7, 0xe9,                                                 // 0x1057: out %eax, $0xe9
  0xe6, 0xf4,                                                 // 0x1059: out %al, $0xf4
  0xf4,                                                       // 0x105b: hlt
];

/**
 * The same steps, plus state a save must take from fpu/xsave and msrs: it
 * writes MSR_KERNEL_GS_BASE (0xc0000102, an address: it must be canonical)
 * first and reads it back at the end, and keeps the sum of the step values
 * in xmm1 (zeroed from the still-zero page 0x5000), whose low 64 bits it
 * outs at the end, 32 at a time. It adds to xmm1 through memory
 * (0x5000: store xmm1, add, load xmm1 back), because kvm_pvm runs SSE
 * instructions through KVM's emulator, which knows only the moves (movups,
 * movaps, movdqu); paddq, pxor and movq to and from a GPR fail there with
 * internal_error suberror=1. Each step stores xmm1 over 0x5000 before it
 * adds, so the sum lives in xmm1 alone across a save. Needs CR4.OSFXSR
 * (SSE_CR4) and 16 MiB (the steps store at 1 MiB and up).
 */
export const xorshiftStepsSse = [
  0xb9, 0x02, 0x01, 0x00, 0xc0,                               // 0x1000: mov $0xc0000102, %ecx
  0xb8, 0xfe, 0xca, 0x0d, 0x60,                               // 0x1005: mov $0x600dcafe, %eax
  0xba, 0x34, 0x12, 0x00, 0x00,                               // 0x100a: mov $0x1234, %edx
  0x0f, 0x30,                                                 // 0x100f: wrmsr
  0x0f, 0x10, 0x0c, 0x25, 0x00, 0x50, 0x00, 0x00,             // 0x1011: movups 0x5000, %xmm1
  0x48, 0xbb, 0x15, 0x7c, 0x4a, 0x7f, 0xb9, 0x79, 0x37, 0x9e, // 0x1019: mov $0x9e3779b97f4a7c15, %rbx
  0x48, 0xc7, 0xc7, 0x00, 0x00, 0x10, 0x00,                   // 0x1023: mov $0x100000, %rdi
  0x41, 0xbc, 0x08, 0x00, 0x00, 0x00,                         // 0x102a: mov $8, %r12d
  0x48, 0x89, 0xd8,                                           // 0x1030: step: mov %rbx, %rax
  0x48, 0xc1, 0xe0, 0x0d,                                     // 0x1033: shl $13, %rax
  0x48, 0x31, 0xc3,                                           // 0x1037: xor %rax, %rbx
  0x48, 0x89, 0xd8,                                           // 0x103a: mov %rbx, %rax
  0x48, 0xc1, 0xe8, 0x07,                                     // 0x103d: shr $7, %rax
  0x48, 0x31, 0xc3,                                           // 0x1041: xor %rax, %rbx
  0x48, 0x89, 0xd8,                                           // 0x1044: mov %rbx, %rax
  0x48, 0xc1, 0xe0, 0x11,                                     // 0x1047: shl $17, %rax
  0x48, 0x31, 0xc3,                                           // 0x104b: xor %rax, %rbx
  0x48, 0x03, 0x9f, 0x00, 0xf0, 0xff, 0xff,                   // 0x104e: add -0x1000(%rdi), %rbx
  0x48, 0x89, 0x1f,                                           // 0x1055: mov %rbx, (%rdi)
  0x48, 0x81, 0xc7, 0x00, 0x10, 0x00, 0x00,                   // 0x1058: add $0x1000, %rdi
  0x0f, 0x11, 0x0c, 0x25, 0x00, 0x50, 0x00, 0x00,             // 0x105f: movups %xmm1, 0x5000
  0x48, 0x01, 0x1c, 0x25, 0x00, 0x50, 0x00, 0x00,             // 0x1067: add %rbx, 0x5000
  0x0f, 0x10, 0x0c, 0x25, 0x00, 0x50, 0x00, 0x00,             // 0x106f: movups 0x5000, %xmm1
  0x89, 0xd8,                                                 // 0x1077: mov %ebx, %eax
  0xe7, 0xe9,                                                 // 0x1079: out %eax, $0xe9
  0xf4,                                                       // 0x107b: hlt
  0x41, 0xff, 0xcc,                                           // 0x107c: dec %r12d
  0x75, 0xaf,                                                 // 0x107f: jnz step
  0x0f, 0x11, 0x0c, 0x25, 0x00, 0x50, 0x00, 0x00,             // 0x1081: movups %xmm1, 0x5000
  0x48, 0x8b, 0x04, 0x25, 0x00, 0x50, 0x00, 0x00,             // 0x1089: mov 0x5000, %rax
  0xe7, 0xe9,                                                 // 0x1091: out %eax, $0xe9
  0x48, 0xc1, 0xe8, 0x20,                                     // 0x1093: shr $32, %rax
  0xe7, 0xe9,                                                 // 0x1097: out %eax, $0xe9
  0xb9, 0x02, 0x01, 0x00, 0xc0,                               // 0x1099: mov $0xc0000102, %ecx
  0x0f, 0x32,                                                 // 0x109e: rdmsr
  0xe7, 0xe9,                                                 // 0x10a0: out %eax, $0xe9
  0x89, 0xd0,                                                 // 0x10a2: mov %edx, %eax
  0xe7, 0xe9,                                                 // 0x10a4: out %eax, $0xe9
  0xe6, 0xf4,                                                 // 0x10a6: out %al, $0xf4
  0xf4,                                                       // 0x10a8: hlt
];

/** Exits per step: the `io out` of the step's value, then `hlt`. */
export const EXITS_PER_STEP = 2;

/** The page a step stores to (0-based step). */
export const stepPage = (step: number): number => 0x100 + step;

/** cr4 = PAE | OSFXSR | OSXMMEXCPT: long mode with SSE usable (guests.ts's longModeSregs has PAE only). */
export const SSE_CR4 = 'cr4 0x620';
