# dirty-log: a real-mode guest that writes to exactly three pages.
#
# It stores one byte in each of the 4 KiB pages at 0x3000, 0x5000 and
# 0x9000 (pages 3, 5 and 9) and halts. It writes nothing else: no stack,
# no variables, no self-modifying code, so KVM's dirty log afterwards has
# exactly bits 3, 5 and 9 set.

        .code16
        .globl  _start
_start:
        movb    $0x33, 0x3000
        movb    $0x55, 0x5000
        movb    $0x99, 0x9000
        hlt
