#!/usr/bin/env bash
# demo.sh [MOUNTPOINT]: mount kvmfs (default /tmp/kvmfs), run the hello
# example in it, and keep the mount up for you to explore from another
# shell. Ctrl-C unmounts and destroys the VMs.
set -euo pipefail
MNT=${1:-/tmp/kvmfs}
HERE=$(cd "$(dirname "$0")" && pwd)
KVMFS="$HERE/../dist/cli/main.js"  # run by its shebang, with the node flags it gives the daemon

mkdir -p "$MNT"
$KVMFS mount "$MNT" &
DAEMON=$!
trap 'kill -TERM $DAEMON 2>/dev/null; wait $DAEMON 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do
    [ "$(cat "$MNT/api_version" 2>/dev/null)" = 12 ] && break
    sleep 0.1
done

echo "== $MNT"
ls -l "$MNT"
echo "== the hello example (mountpoint-example/hello-real/run.sh):"
"$HERE/hello-real/run.sh" "$MNT"
echo
echo "kvmfs is mounted at $MNT. In another shell, try:"
echo "  mkdir $MNT/vm0 && truncate -s 1M $MNT/vm0/memory && mkdir $MNT/vm0/vcpu0 && cat $MNT/vm0/vcpu0/regs"
echo "  $HERE/run-all.sh $MNT     # every example"
echo "Ctrl-C here unmounts."
wait $DAEMON
