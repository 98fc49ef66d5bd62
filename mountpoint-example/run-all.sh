#!/usr/bin/env bash
# run-all.sh: run every example against a kvmfs mount, in order.
# Exits non-zero if any of them fails.
#
#   usage: ./run-all.sh [MOUNTPOINT]     (default /tmp/kvmfs)
MNT=${1:-/tmp/kvmfs}
HERE=$(dirname "$0")

failed=
for example in hello-real hello-protected hello-long interrupt input mmio \
               dirty-log two-vcpus; do
    echo "=== $example"
    if ! "$HERE/$example/run.sh" "$MNT"; then
        failed="$failed $example"
    fi
    echo
done

if [ -n "$failed" ]; then
    echo "FAILED:$failed"
    exit 1
fi
echo "all examples passed"
