# hello-protected: a 32-bit protected-mode guest, flat segments, paging off.
#
# The script switches the vcpu into protected mode before the first run
# (cr0.PE = 1, cs = a 32-bit flat code segment, ds/es/ss = flat data), so
# the guest starts directly in 32-bit code at 0x1000. It writes
# "Hello from protected mode!\n" to port 0xe9 one byte at a time, stores the
# number of bytes written at 0x2000, and halts.

        .code32
        .globl  _start
_start:
        mov     $msg, %esi
        xor     %ecx, %ecx
1:      lodsb                           # al = *esi++
        test    %al, %al
        jz      2f
        out     %al, $0xe9
        inc     %ecx
        jmp     1b
2:      mov     %ecx, 0x2000            # result: bytes written
        hlt

msg:    .asciz  "Hello from protected mode!\n"
