# mmio: a 32-bit protected-mode guest (flat segments, paging off) that talks
# to a memory-mapped "device" at 0xd0000000.
#
# No RAM is there, so KVM hands every access to user space: the load is a
# "mmio read" exit in vcpu0/run (the script answers by writing the value to
# vcpu0/run), the store is a "mmio write" exit that carries the data. The
# guest reads the 32-bit register at 0xd0000000, adds 1, writes the sum to
# the register at 0xd0000004, keeps a copy in RAM at 0x2000, and halts.

        .code32
        .globl  _start
_start:
        mov     0xd0000000, %eax        # mmio read, 4 bytes
        inc     %eax
        mov     %eax, 0xd0000004        # mmio write, 4 bytes
        mov     %eax, 0x2000            # result, in RAM
        hlt
