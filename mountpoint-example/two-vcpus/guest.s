# two-vcpus: one real-mode program with two entry points, one per vcpu.
#
# vcpu0 starts at 0x1000 (entry0), vcpu1 at 0x1020 (entry1). Each prints
# its own line five times to port 0xe9; the two vcpus run at the same time
# on their own host threads. Each vcpu counts the lines it printed in its
# own 32-bit word (vcpu0: 0x2000, vcpu1: 0x2004) and halts. No stack: the
# vcpus share nothing they write.

        .code16
        .globl  _start
_start:
entry0:
        mov     $msg0, %bx              # the line to print
        mov     $0x2000, %di            # where to count
        jmp     main

        .org    0x20                    # entry1 is at load address + 0x20
entry1:
        mov     $msg1, %bx
        mov     $0x2004, %di

main:   movl    $0, (%di)
1:      mov     %bx, %si
2:      lodsb                           # print one line
        test    %al, %al
        jz      3f
        out     %al, $0xe9
        jmp     2b
3:      incl    (%di)
        cmpl    $5, (%di)
        jb      1b
        hlt

msg0:   .asciz  "vcpu0 says hello\n"
msg1:   .asciz  "vcpu1 says hello\n"
