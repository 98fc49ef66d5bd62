#!/usr/bin/env bash
# two-vcpus: one VM, two vcpus running at the same time. Each vcpu has its
# own run file; a `cat run` loop per vcpu in a background job drives them
# in parallel, and their lines come out interleaved as they arrive.
#
#   usage: two-vcpus/run.sh [MOUNTPOINT]     (default /tmp/kvmfs)
MNT=${1:-/tmp/kvmfs}
HERE=$(dirname "$0")
. "$HERE/../lib.sh"

new_vm two-vcpus
truncate -s 1M "$VM/memory"
mkdir "$VM/vcpu0" "$VM/vcpu1"
load "$HERE/guest.bin" 0x1000

# Same code, different entry points: vcpu0 at 0x1000, vcpu1 at 0x1020.
echo 'rip 0x1000' > "$VM/vcpu0/regs"
echo 'rip 0x1020' > "$VM/vcpu1/regs"
echo 'cs base=0x0 selector=0x0' > "$VM/vcpu0/sregs"
echo 'cs base=0x0 selector=0x0' > "$VM/vcpu1/sregs"

run_until_hlt vcpu0 "[vcpu0] " &
job0=$!
run_until_hlt vcpu1 "[vcpu1] " &
job1=$!
wait $job0 || fail "vcpu0 did not finish"
wait $job1 || fail "vcpu1 did not finish"

# Each vcpu counted its lines in its own word.
check_u32 0x2000 5 "vcpu0 lines"
check_u32 0x2004 5 "vcpu1 lines"
echo "two-vcpus: ok"
