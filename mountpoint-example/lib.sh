# lib.sh: helpers shared by the example scripts. Source it after setting MNT:
#
#   MNT=${1:-/tmp/kvmfs}
#   . "$(dirname "$0")/../lib.sh"
#
# Everything here is plain file I/O on the kvmfs mount, done with coreutils
# (mkdir, rmdir, cat, dd, od, printf). Reading the helpers top to bottom is a
# short tour of the interface:
#
#   new_vm NAME             mkdir $MNT/NAME-<pid>, sets VM, removes it on exit
#   load FILE GPA           copy FILE into guest memory at GPA (dd conv=notrunc)
#   poke_u64 GPA VALUE      write a little-endian 64-bit value into memory
#   peek_u32 GPA            print the 32-bit value at GPA (od)
#   check_u32 GPA WANT WHAT fail unless the 32-bit value at GPA is WANT
#   run_once VCPU           one `cat VCPU/run`; sets EXIT_LINE, EXIT_KIND, ...
#   run_until_hlt VCPU [P]  run, print what the guest writes to port 0xe9,
#                           stop at `hlt`, fail on any other exit
#   enter_protected_mode V  flat 32-bit segments, paging off (hello-protected)
#
# Any command that fails stops the script with a message that includes the
# VM's last_error file (the ERR trap below), so the scripts can stay free of
# error checks. Set KVMFS_TRACE=1 to see every exit line on stderr.

if [ -z "${BASH_VERSION:-}" ]; then
    echo "these examples are bash scripts: run them as ./run.sh or bash run.sh" >&2
    exit 1
fi
export LC_ALL=C
MNT=${MNT:-/tmp/kvmfs}
NAME=${0##*/}; [ "$NAME" = run.sh ] && NAME=$(basename "$(dirname "$0")")
VM=
OUTPUT=         # run_until_hlt: text the guest wrote to port 0xe9
OUTPUT_BYTES=0  # run_until_hlt: number of bytes it wrote

# fail MESSAGE: print MESSAGE and the VM's last_error, exit 1.
fail() {
    echo "$NAME: FAILED: $*" >&2
    if [ -n "$VM" ] && [ -r "$VM/last_error" ]; then
        err=$(cat "$VM/last_error" 2>/dev/null) && [ -n "$err" ] &&
            echo "$NAME: $VM/last_error: $err" >&2
    fi
    exit 1
}
set -E
trap 'fail "line $LINENO: \`$BASH_COMMAND\` failed"' ERR

[ -r "$MNT/api_version" ] ||
    fail "no kvmfs at $MNT (mount it first: npx kvmfs mount $MNT &)"

# new_vm NAME: create the VM directory $MNT/NAME-<pid> (KVM_CREATE_VM) and
# arrange for it to be removed (KVM VM destroyed) when the script exits.
new_vm() {
    VM=$MNT/$1-$$
    mkdir "$VM"
    trap cleanup EXIT
}

# cleanup: stop anything still running, then rmdir the VM. Only the VM
# directory is removed: rmdir of a vcpu directory is EPERM by design, the
# vcpus go away with their VM.
cleanup() {
    trap - ERR
    [ -n "$VM" ] && [ -d "$VM" ] || return 0
    for stop in "$VM"/vcpu*/stop; do
        [ -e "$stop" ] && { echo 1 > "$stop"; } 2>/dev/null
    done
    for job in $(jobs -p); do kill "$job" 2>/dev/null; done
    wait 2>/dev/null
    for try in 1 2 3 4 5 6 7 8 9 10; do
        rmdir "$VM" 2>/dev/null && return 0
        sleep 0.1               # EBUSY while a vcpu is still stopping
    done
    echo "$NAME: warning: could not remove $VM" >&2
}

# load FILE GPA: copy FILE into guest physical memory at address GPA.
# conv=notrunc matters: without it dd would truncate the memory file (which
# kvmfs ignores, but it is the wrong thing to ask for).
load() {
    dd if="$1" of="$VM/memory" bs=1 seek=$(($2)) conv=notrunc status=none
}

# poke_u64 GPA VALUE: write VALUE as 8 little-endian bytes at GPA. printf
# turns each byte into an octal escape (\ooo), the only byte escape POSIX
# printf knows.
poke_u64() {
    esc= i=0
    while [ $i -lt 8 ]; do
        esc="$esc\\$(printf %03o $(( ($2 >> (8 * i)) & 255 )))"
        i=$((i + 1))
    done
    printf "$esc" | dd of="$VM/memory" bs=1 seek=$(($1)) conv=notrunc status=none
}

# peek_u32 GPA: print the little-endian 32-bit value at GPA, in decimal.
peek_u32() {
    if ! v=$(od -An -tu4 -j $(($1)) -N 4 "$VM/memory"); then
        fail "reading memory at $1 failed"
    fi
    echo $((v))
}

# check_u32 GPA WANT WHAT: fail unless memory holds WANT at GPA.
check_u32() {
    if ! got=$(peek_u32 "$1"); then exit 1; fi
    if [ "$got" -ne $(($2)) ]; then
        fail "$3: memory at $1 holds $(printf 0x%x "$got"), expected $(printf 0x%x $(($2)))"
    fi
    printf '%s: memory at %s = 0x%x: ok\n' "$3" "$1" "$got"
}

# run_once VCPU: run VCPU (e.g. vcpu0) until its next exit. `cat run` does
# exactly one KVM_RUN and prints one line, e.g.
#     io out port=0x00e9 size=1 count=1 data=0x48
# The line is split into EXIT_KIND ("io out", "mmio read", "hlt", ...) and
# the key=value fields: EXIT_PORT, EXIT_SIZE, EXIT_COUNT, EXIT_ADDR,
# EXIT_LEN, EXIT_DATA (still comma separated).
run_once() {
    if ! EXIT_LINE=$(cat "$VM/$1/run"); then
        fail "$1: reading $1/run failed (KVM_RUN returned an error)"
    fi
    [ -n "${KVMFS_TRACE:-}" ] && echo "[$1/run] $EXIT_LINE" >&2
    EXIT_KIND= EXIT_PORT= EXIT_SIZE= EXIT_COUNT= EXIT_ADDR= EXIT_LEN= EXIT_DATA=
    for word in $EXIT_LINE; do
        case $word in
            port=*)  EXIT_PORT=${word#*=} ;;
            size=*)  EXIT_SIZE=${word#*=} ;;
            count=*) EXIT_COUNT=${word#*=} ;;
            addr=*)  EXIT_ADDR=${word#*=} ;;
            len=*)   EXIT_LEN=${word#*=} ;;
            data=*)  EXIT_DATA=${word#*=} ;;
            *=*)     ;;                 # fields this library does not use
            *)       EXIT_KIND=${EXIT_KIND:+$EXIT_KIND }$word ;;
        esac
    done
    return 0
}

# data_text DATA SIZE: turn a data= field ("0x48,0x69") into the bytes it
# stands for, SIZE bytes per element, little-endian; the result is in TEXT.
data_text() {
    TEXT=
    old_ifs=$IFS; IFS=,
    for value in $1; do
        j=0
        while [ $j -lt "$2" ]; do
            printf -v oct %03o $(( (value >> (8 * j)) & 255 ))
            printf -v ch "\\$oct"
            TEXT=$TEXT$ch
            j=$((j + 1))
        done
    done
    IFS=$old_ifs
}

# run_until_hlt VCPU [PREFIX]: run VCPU until it executes `hlt`. Every
# `out` to port 0xe9 (the "debug console" port) is decoded and printed as it
# arrives, and appended to OUTPUT/OUTPUT_BYTES. With PREFIX, output is
# printed a whole line at a time with PREFIX in front (for several vcpus
# printing at once). An `intr` exit (the mount's run time limit, 1 s by
# default) just runs again, up to 10 times in a row; any other exit is a
# failure.
run_until_hlt() {
    line_buf=
    intrs=0
    while :; do
        run_once "$1"
        if [ "$EXIT_KIND" = intr ]; then
            intrs=$((intrs + 1))
            [ $intrs -le 10 ] || fail "$1: guest still running after $intrs run time limits"
            continue
        fi
        intrs=0
        case $EXIT_KIND in
        "io out")
            [ $((EXIT_PORT)) -eq $((0xe9)) ] ||
                fail "$1: unexpected exit: $EXIT_LINE"
            data_text "$EXIT_DATA" "$EXIT_SIZE"
            OUTPUT=$OUTPUT$TEXT
            OUTPUT_BYTES=$((OUTPUT_BYTES + EXIT_SIZE * EXIT_COUNT))
            if [ -z "${2:-}" ]; then
                printf '%s' "$TEXT"
            else
                line_buf=$line_buf$TEXT
                while [ "${line_buf#*$'\n'}" != "$line_buf" ]; do
                    printf '%s%s\n' "$2" "${line_buf%%$'\n'*}"
                    line_buf=${line_buf#*$'\n'}
                done
            fi
            ;;
        hlt)
            [ -n "$line_buf" ] && printf '%s%s\n' "$2" "$line_buf"
            return 0
            ;;
        *)
            fail "$1: unexpected exit: $EXIT_LINE"
            ;;
        esac
    done
}

# expect_exit VCPU KIND: run VCPU once (again after `intr`, up to 10 times)
# and fail unless the exit is KIND; prints the exit line.
expect_exit() {
    run_once "$1"
    intrs=0
    while [ "$EXIT_KIND" = intr ] && [ $intrs -lt 10 ]; do
        intrs=$((intrs + 1))
        run_once "$1"
    done
    [ "$EXIT_KIND" = "$2" ] || fail "$1: expected \"$2\", got: $EXIT_LINE"
    echo "$1/run: $EXIT_LINE"
}

# enter_protected_mode VCPU: put VCPU into 32-bit protected mode with flat
# 4 GiB segments and paging off, exactly as hello-protected/run.sh does step
# by step (see there for the explanation). Writes a GDT at 0x500.
enter_protected_mode() {
    poke_u64 0x508 0x00cf9a000000ffff   # selector 0x08: 32-bit code
    poke_u64 0x510 0x00cf92000000ffff   # selector 0x10: data
    cat > "$VM/$1/sregs" <<'EOF'
cr0 0x11
gdt base=0x500 limit=0x17
cs base=0x0 limit=0xffffffff selector=0x8 type=0xb present=1 dpl=0 db=1 s=1 l=0 g=1
ds base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
es base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
ss base=0x0 limit=0xffffffff selector=0x10 type=0x3 present=1 dpl=0 db=1 s=1 l=0 g=1
EOF
}
