#!/usr/bin/env bash
# hello-real: create a VM, load a 16-bit real-mode guest, run it until it
# halts, and show what it printed on I/O port 0xe9.
#
#   usage: hello-real/run.sh [MOUNTPOINT]     (default /tmp/kvmfs)
MNT=${1:-/tmp/kvmfs}
HERE=$(dirname "$0")
. "$HERE/../lib.sh"

new_vm hello-real                       # mkdir $MNT/hello-real-<pid>
truncate -s 1M "$VM/memory"             # 1 MiB of RAM at guest physical 0
mkdir "$VM/vcpu0"                       # vcpu 0, in real mode after reset
load "$HERE/guest.bin" 0x1000           # the code, at GPA 0x1000

# A new vcpu starts at the x86 reset vector (cs base 0xffff0000, ip 0xfff0).
# Point it at our code instead: cs = 0 (base 0), ip = 0x1000. Each write
# changes only the fields it names.
echo 'rip 0x1000' > "$VM/vcpu0/regs"
echo 'cs base=0x0 selector=0x0' > "$VM/vcpu0/sregs"

# Each `cat vcpu0/run` runs the guest until its next exit; the guest's
# `out %al, $0xe9` exits once per byte. run_until_hlt loops over them.
echo "guest output:"
run_until_hlt vcpu0

# The guest stored the number of bytes it wrote at 0x2000.
check_u32 0x2000 "$OUTPUT_BYTES" "byte count"
[ "$OUTPUT" = $'Hello from real mode!\n' ] || fail "unexpected greeting: $OUTPUT"
echo "hello-real: ok"
