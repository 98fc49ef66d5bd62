# interrupt: a real-mode guest that takes external interrupts.
#
# It points interrupt vector 32 at its handler (the real-mode interrupt
# vector table starts at address 0: 4 bytes per vector, offset then
# segment), enables interrupts and halts in a loop. Each `hlt` is a "hlt"
# exit in vcpu0/run. When the script writes 32 to vcpu0/interrupt, the next
# run delivers the interrupt: the handler prints "IRQ 32\n" to port 0xe9,
# counts the interrupt in the 32-bit word at 0x2000, and returns with `iret`
# to the halt loop.

        .code16
        .globl  _start
_start:
        mov     $0x1000, %sp            # stack for the interrupt frame: below the code
        movw    $handler, 32*4          # IVT[32].offset
        movw    $0, 32*4+2              # IVT[32].segment
idle:   sti                             # IF=1: external interrupts allowed
        hlt                             # sleep until the next interrupt
        jmp     idle

handler:
        push    %ax
        push    %si
        mov     $msg, %si
1:      lodsb
        test    %al, %al
        jz      2f
        out     %al, $0xe9
        jmp     1b
2:      incl    0x2000                  # count the interrupts taken
        pop     %si
        pop     %ax
        iret

msg:    .asciz  "IRQ 32\n"
