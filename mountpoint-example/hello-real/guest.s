# hello-real: a 16-bit real-mode guest.
#
# Loaded at guest physical address 0x1000 and entered with cs=0 (base 0),
# ip=0x1000, ds=0. It writes "Hello from real mode!\n" one byte at a time to
# I/O port 0xe9 (each `out` is one "io out" exit in vcpu0/run), stores the
# number of bytes it wrote as a 32-bit value at 0x2000, and halts.

        .code16
        .globl  _start
_start:
        mov     $msg, %si               # ds:si -> the string (ds = 0)
        xor     %ecx, %ecx              # ecx counts the bytes written
1:      lodsb                           # al = *si++
        test    %al, %al
        jz      2f                      # NUL: end of string
        out     %al, $0xe9              # one byte to the debug port
        inc     %ecx
        jmp     1b
2:      mov     %ecx, 0x2000            # result: bytes written
        hlt

msg:    .asciz  "Hello from real mode!\n"
