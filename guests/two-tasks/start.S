/*
 * two-tasks: entry, GDT, and the interrupt stubs. kvmfs boot enters _start
 * in 64-bit mode with paging on (identity map); everything else the guest
 * sets up itself, so it also runs under any loader that does that much.
 */
        .section .text.start, "ax"
        .globl  _start
_start:
        cli
        lea     boot_stack_top(%rip), %rsp
        lgdt    gdt_pointer(%rip)
        /* reload cs with a far return, then the data segments */
        pushq   $0x08
        lea     1f(%rip), %rax
        pushq   %rax
        lretq
1:      mov     $0x10, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        mov     %eax, %fs
        mov     %eax, %gs
        call    main
2:      cli
        hlt
        jmp     2b

/* Saves every general register on the interrupted context's stack. */
.macro  SAVE_REGISTERS
        push    %rax
        push    %rbx
        push    %rcx
        push    %rdx
        push    %rsi
        push    %rdi
        push    %rbp
        push    %r8
        push    %r9
        push    %r10
        push    %r11
        push    %r12
        push    %r13
        push    %r14
        push    %r15
.endm

.macro  RESTORE_REGISTERS
        pop     %r15
        pop     %r14
        pop     %r13
        pop     %r12
        pop     %r11
        pop     %r10
        pop     %r9
        pop     %r8
        pop     %rbp
        pop     %rdi
        pop     %rsi
        pop     %rdx
        pop     %rcx
        pop     %rbx
        pop     %rax
.endm

        .text
/*
 * IRQ0 (vector 0x20): the context switch. timer_interrupt gets the
 * interrupted context's stack pointer (its registers and interrupt frame
 * are on it) and returns the stack pointer of the context to resume,
 * which iretq then enters: the other task.
 */
        .globl  irq0_entry
irq0_entry:
        SAVE_REGISTERS
        mov     %rsp, %rdi
        call    timer_interrupt
        mov     %rax, %rsp
        RESTORE_REGISTERS
        iretq

/* Any other PIC vector (only IRQ0 is unmasked: a spurious IRQ7 or IRQ15) and the APIC's spurious vector: no EOI. */
        .globl  spurious_entry
spurious_entry:
        iretq

/* Exceptions 0..31: one stub each, pushing its vector for exception(). */
        .globl  exception_stubs
exception_stubs:
        .set    vector, 0
        .rept   32
        .align  16
        pushq   $vector
        jmp     exception_common
        .set    vector, vector + 1
        .endr

exception_common:
        pop     %rdi
        mov     %rsp, %rsi
        call    exception
3:      cli
        hlt
        jmp     3b

        .section .rodata
        .align  8
gdt:
        .quad   0
        .quad   0x00af9a000000ffff      /* 0x08: 64-bit code, present, dpl 0 */
        .quad   0x00cf92000000ffff      /* 0x10: data, present, writable */
gdt_end:
gdt_pointer:
        .word   gdt_end - gdt - 1
        .quad   gdt

        .bss
        .align  16
        .space  16384
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
