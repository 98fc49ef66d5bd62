# input: a real-mode guest that reads bytes from I/O port 0x60.
#
# Each `in $0x60, %al` is an "io in" exit in vcpu0/run; the script supplies
# the byte by writing it to vcpu0/run before the next run. The guest turns
# lowercase letters into uppercase, echoes every byte to port 0xe9, and
# keeps a copy of them from 0x2004 on. A zero byte ends the input: the guest
# stores the number of bytes it read at 0x2000 and halts.

        .code16
        .globl  _start
_start:
        mov     $0x2004, %di            # es:di -> buffer (es = 0)
        xor     %ecx, %ecx              # bytes read
1:      in      $0x60, %al              # ask the outside world for a byte
        test    %al, %al
        jz      3f                      # zero: end of input
        cmp     $'a', %al
        jb      2f
        cmp     $'z', %al
        ja      2f
        sub     $'a'-'A', %al           # to uppercase
2:      out     %al, $0xe9              # echo it
        stosb                           # *di++ = al
        inc     %ecx
        jmp     1b
3:      mov     %ecx, 0x2000            # result: bytes read
        hlt
