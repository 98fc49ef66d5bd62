#!/usr/bin/env bash
# interrupt: inject external interrupts into a halted real-mode guest by
# writing a vector number to vcpu0/interrupt (KVM_INTERRUPT).
#
#   usage: interrupt/run.sh [MOUNTPOINT]     (default /tmp/kvmfs)
MNT=${1:-/tmp/kvmfs}
HERE=$(dirname "$0")
. "$HERE/../lib.sh"

new_vm interrupt
truncate -s 1M "$VM/memory"
mkdir "$VM/vcpu0"
load "$HERE/guest.bin" 0x1000
echo 'rip 0x1000' > "$VM/vcpu0/regs"
echo 'cs base=0x0 selector=0x0' > "$VM/vcpu0/sregs"

# First run: the guest installs its handler for vector 32, enables
# interrupts (sti) and halts.
run_until_hlt vcpu0
echo "guest is halted, waiting for an interrupt"

# Queue vector 32; the next run delivers it, the handler prints a line and
# returns to the halt loop, which halts again.
for i in 1 2 3; do
    echo "echo 32 > vcpu0/interrupt   (#$i)"
    echo 32 > "$VM/vcpu0/interrupt"
    printf 'guest output: '
    run_until_hlt vcpu0
done

[ "$OUTPUT" = $'IRQ 32\nIRQ 32\nIRQ 32\n' ] || fail "unexpected output: $OUTPUT"
check_u32 0x2000 3 "interrupts taken"
echo "interrupt: ok"
