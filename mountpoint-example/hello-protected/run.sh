#!/usr/bin/env bash
# hello-protected: a 32-bit protected-mode guest. The vcpu is switched from
# real mode to protected mode by writing its segment and control registers
# (sregs) before the first run: no real-mode boot code needed.
#
#   usage: hello-protected/run.sh [MOUNTPOINT]     (default /tmp/kvmfs)
MNT=${1:-/tmp/kvmfs}
HERE=$(dirname "$0")
. "$HERE/../lib.sh"

new_vm hello-protected
truncate -s 1M "$VM/memory"
mkdir "$VM/vcpu0"
load "$HERE/guest.bin" 0x1000

# A GDT at 0x500 with the two descriptors the segment registers below
# describe (base 0, limit 4 GiB): 0x08 = 32-bit code, 0x10 = data. KVM only
# uses the segment registers' hidden state that we set through sregs, but a
# guest reloading a segment register would read these.
poke_u64 0x500 0                        # 0x00: null descriptor
poke_u64 0x508 0x00cf9a000000ffff       # 0x08: code, execute/read, 32-bit
poke_u64 0x510 0x00cf92000000ffff       # 0x10: data, read/write

# Protected mode, all in one write (one KVM_SET_SREGS): cr0.PE=1 (0x1; 0x10
# is ET), a flat 32-bit code segment (type 0xb: code, execute/read,
# accessed; db=1: 32-bit; g=1: limit in 4 KiB pages) and flat data segments
# (type 0x3: data, read/write, accessed). Paging stays off (cr0.PG=0).
cat > "$VM/vcpu0/sregs" <<'SREGS'
cr0 0x11
gdt base=0x500 limit=0x17
cs base=0x0 limit=0xffffffff selector=0x8 type=0xb present=1 dpl=0 db=1 s=1 l=0 g=1
ds base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
es base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
ss base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
SREGS
echo 'rip 0x1000' > "$VM/vcpu0/regs"

echo "guest output:"
run_until_hlt vcpu0

check_u32 0x2000 "$OUTPUT_BYTES" "byte count"
[ "$OUTPUT" = $'Hello from protected mode!\n' ] || fail "unexpected greeting: $OUTPUT"
echo "hello-protected: ok"
