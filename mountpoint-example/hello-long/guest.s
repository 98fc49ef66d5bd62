# hello-long: a 64-bit long-mode guest.
#
# The script writes identity-mapping page tables into guest memory and puts
# the vcpu straight into long mode (cr0.PG|PE, cr4.PAE, efer.LME|LMA, a
# 64-bit code segment), so the guest starts in 64-bit code at 0x1000. It
# writes "Hello from long mode!\n" to port 0xe9 one byte at a time, stores
# the number of bytes written at 0x2000, and halts.

        .code64
        .globl  _start
_start:
        lea     msg(%rip), %rsi
        xor     %ecx, %ecx
1:      lodsb                           # al = *rsi++
        test    %al, %al
        jz      2f
        out     %al, $0xe9
        inc     %ecx
        jmp     1b
2:      mov     %ecx, 0x2000            # result: bytes written
        hlt

msg:    .asciz  "Hello from long mode!\n"
