#!/usr/bin/env bash
# mmio: play a memory-mapped device. The guest loads from and stores to
# addresses where there is no RAM; each access is an exit that the script
# handles: "mmio read" (answer by writing the value to vcpu0/run) and
# "mmio write" (the exit line carries the value).
#
#   usage: mmio/run.sh [MOUNTPOINT]     (default /tmp/kvmfs)
MNT=${1:-/tmp/kvmfs}
HERE=$(dirname "$0")
. "$HERE/../lib.sh"

new_vm mmio
truncate -s 1M "$VM/memory"             # RAM ends at 1 MiB: 0xd0000000 is not RAM
mkdir "$VM/vcpu0"
load "$HERE/guest.bin" 0x1000
enter_protected_mode vcpu0              # 32-bit flat, as in hello-protected
echo 'rip 0x1000' > "$VM/vcpu0/regs"

# 1. The guest reads the device register at 0xd0000000.
expect_exit vcpu0 "mmio read"
[ $((EXIT_ADDR)) -eq $((0xd0000000)) ] && [ "$EXIT_LEN" -eq 4 ] ||
    fail "expected a 4-byte read at 0xd0000000"
echo "echo 0x12345678 > vcpu0/run"
echo 0x12345678 > "$VM/vcpu0/run"       # what the load returns

# 2. It adds one and writes the sum to the register at 0xd0000004.
expect_exit vcpu0 "mmio write"
[ $((EXIT_ADDR)) -eq $((0xd0000004)) ] && [ $((EXIT_DATA)) -eq $((0x12345679)) ] ||
    fail "expected 0x12345679 written to 0xd0000004"

# 3. Then it halts; it also left the sum in RAM at 0x2000.
expect_exit vcpu0 hlt
check_u32 0x2000 0x12345679 "value in RAM"
echo "mmio: ok"
