#!/usr/bin/env bash
# hello-long: a 64-bit long-mode guest. The script builds the page tables
# in guest memory with printf|dd and switches the vcpu straight into long
# mode by writing sregs.
#
#   usage: hello-long/run.sh [MOUNTPOINT]     (default /tmp/kvmfs)
MNT=${1:-/tmp/kvmfs}
HERE=$(dirname "$0")
. "$HERE/../lib.sh"

new_vm hello-long
truncate -s 1M "$VM/memory"
mkdir "$VM/vcpu0"
load "$HERE/guest.bin" 0x1000

# Long mode requires paging. Identity-map the first 2 MiB with one large
# page: PML4 (0x3000) -> PDPT (0x4000) -> PD (0x5000), whose entry 0 maps
# 0..2 MiB directly (PS bit). Entry bits: 0x1 present, 0x2 writable,
# 0x80 page size (2 MiB).
poke_u64 0x3000 0x4003                  # PML4[0] -> PDPT, present|writable
poke_u64 0x4000 0x5003                  # PDPT[0] -> PD,   present|writable
poke_u64 0x5000 0x83                    # PD[0] = 2 MiB page at 0, present|writable|PS

# A GDT at 0x500: 0x08 = 64-bit code (L bit set), 0x10 = data.
poke_u64 0x500 0
poke_u64 0x508 0x00af9a000000ffff
poke_u64 0x510 0x00cf92000000ffff

# Everything that makes long mode, in one write (one KVM_SET_SREGS; KVM
# would reject efer.LMA without cr0.PG in a write of its own):
#   cr0  0x80000011  PG | ET | PE
#   cr3  0x3000      the PML4
#   cr4  0x20        PAE
#   efer 0x500       LMA | LME
#   cs   l=1 db=0    a 64-bit code segment
cat > "$VM/vcpu0/sregs" <<'SREGS'
cr0 0x80000011
cr3 0x3000
cr4 0x20
efer 0x500
gdt base=0x500 limit=0x17
cs base=0x0 limit=0xffffffff selector=0x8 type=0xb present=1 dpl=0 db=0 s=1 l=1 g=1
ds base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
es base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
ss base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
SREGS
echo 'rip 0x1000' > "$VM/vcpu0/regs"

echo "guest output:"
run_until_hlt vcpu0

check_u32 0x2000 "$OUTPUT_BYTES" "byte count"
[ "$OUTPUT" = $'Hello from long mode!\n' ] || fail "unexpected greeting: $OUTPUT"
echo "hello-long: ok"
