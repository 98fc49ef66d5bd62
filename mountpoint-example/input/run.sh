#!/usr/bin/env bash
# input: answer a guest's `in` instructions. Each `in $0x60, %al` is an
# "io in" exit; writing a value to vcpu0/run before the next run makes it
# the value the `in` returns.
#
#   usage: input/run.sh [MOUNTPOINT]     (default /tmp/kvmfs)
MNT=${1:-/tmp/kvmfs}
HERE=$(dirname "$0")
. "$HERE/../lib.sh"

new_vm input
truncate -s 1M "$VM/memory"
mkdir "$VM/vcpu0"
load "$HERE/guest.bin" 0x1000
echo 'rip 0x1000' > "$VM/vcpu0/regs"
echo 'cs base=0x0 selector=0x0' > "$VM/vcpu0/sregs"

INPUT="hello, kvmfs"                    # what we "type"; a 0 byte ends it
sent=0
while :; do
    run_once vcpu0
    case $EXIT_KIND in
    "io in")
        [ $((EXIT_PORT)) -eq $((0x60)) ] || fail "unexpected exit: $EXIT_LINE"
        if [ $sent -lt ${#INPUT} ]; then
            char=${INPUT:sent:1}
            printf -v value '0x%02x' "'$char"    # 'c -> character code
        else
            char='end of input' value=0x00
        fi
        sent=$((sent + 1))
        echo "$value" > "$VM/vcpu0/run"         # the byte the `in` returns
        printf '%-40s -> echo %s > vcpu0/run  (%s)\n' "$EXIT_LINE" "$value" "$char"
        ;;
    "io out")
        [ $((EXIT_PORT)) -eq $((0xe9)) ] || fail "unexpected exit: $EXIT_LINE"
        data_text "$EXIT_DATA" "$EXIT_SIZE"
        OUTPUT=$OUTPUT$TEXT
        printf '%-40s    guest echoed (%s)\n' "$EXIT_LINE" "$TEXT"
        ;;
    hlt)
        echo "$EXIT_LINE"
        break
        ;;
    intr) ;;
    *)  fail "unexpected exit: $EXIT_LINE" ;;
    esac
done

echo "we typed:     $INPUT"
echo "guest echoed: $OUTPUT"
[ "$OUTPUT" = "HELLO, KVMFS" ] || fail "the guest echoed \"$OUTPUT\""
# The guest also kept what it read at 0x2004 and counted it at 0x2000.
check_u32 0x2000 ${#INPUT} "bytes read"
saved=$(dd if="$VM/memory" bs=1 skip=$((0x2004)) count=${#INPUT} status=none)
[ "$saved" = "HELLO, KVMFS" ] || fail "memory at 0x2004 holds \"$saved\""
echo "memory at 0x2004: $saved"
echo "input: ok"
