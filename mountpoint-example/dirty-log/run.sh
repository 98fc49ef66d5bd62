#!/usr/bin/env bash
# dirty-log: which pages did the guest write? dirty_log is KVM's dirty page
# bitmap (one bit per 4 KiB page); reading it fetches and clears it.
#
#   usage: dirty-log/run.sh [MOUNTPOINT]     (default /tmp/kvmfs)
MNT=${1:-/tmp/kvmfs}
HERE=$(dirname "$0")
. "$HERE/../lib.sh"

# dirty_pages: read dirty_log once (od reads it from offset 0, which
# fetches and clears the log), print it raw, set PAGES to the page numbers
# whose bit is set: bit n of little-endian 64-bit word n/64 is page n.
dirty_pages() {
    if ! words=$(od -An -v -tx8 "$VM/dirty_log"); then
        fail "reading dirty_log failed"
    fi
    echo "od -An -tx8 dirty_log:" $words
    PAGES= w=0
    for word in $words; do
        value=$((16#$word))
        bit=0
        while [ $bit -lt 64 ]; do
            if [ $(( (value >> bit) & 1 )) -eq 1 ]; then
                PAGES="${PAGES:+$PAGES }$((w * 64 + bit))"
            fi
            bit=$((bit + 1))
        done
        w=$((w + 1))
    done
}

new_vm dirty-log
truncate -s 1M "$VM/memory"             # 256 pages: dirty_log is 32 bytes
mkdir "$VM/vcpu0"
load "$HERE/guest.bin" 0x1000
echo 'rip 0x1000' > "$VM/vcpu0/regs"
echo 'cs base=0x0 selector=0x0' > "$VM/vcpu0/sregs"

# Start from a clean log: read it once and throw the result away.
od -An -tx8 "$VM/dirty_log" > /dev/null

# The guest writes one byte to each of pages 3, 5 and 9, then halts.
run_until_hlt vcpu0

dirty_pages
echo "dirty pages: $PAGES"
[ "$PAGES" = "3 5 9" ] || fail "expected pages 3 5 9 to be dirty, got \"$PAGES\""

# The read cleared the log: nothing has been written since.
dirty_pages
echo "dirty pages: ${PAGES:-(none)}"
[ -z "$PAGES" ] || fail "expected an empty log after reading it, got \"$PAGES\""
echo "dirty-log: ok"
