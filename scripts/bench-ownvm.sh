#!/usr/bin/env bash
# Benchmark for tracing your own VM (issue 15): guest time of the
# syscall-bound workload (guests/progs/sysbench.c, N x (read 1 byte +
# write 1 byte)) in a user's own QEMU command line:
#   no plugin | dormant plugin (listen=unix:...) | dormant plugin with
#   `vstrace attach --plugin -o /dev/null` | `vstrace qemu -o /dev/null`
#   | `vstrace run -o /dev/null`
# Targets: dormant <= 1.05x no plugin; attached within 10 % of vstrace
# run per event.
#   scripts/bench-ownvm.sh [ROUNDS] [REPEATS] [QEMU]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-200000}"
REPEATS="${2:-3}"
QEMU="${3:-qemu-system-x86_64}"
cargo build --release --quiet -p vstrace-cli -p vstrace-plugin
T=target/release
PLUGIN=$PWD/$T/libvstrace_plugin.so
work=$(mktemp -d)
qpid=""
trap '[ -n "$qpid" ] && kill "$qpid" 2>/dev/null; rm -rf "$work"' EXIT
gcc -static -O2 -o "$work/sysbench" guests/progs/sysbench.c
# The guest waits a little so that a client can attach before the loop.
CMD="sleep 3; /bin/sysbench $N"

ns_of() { sed -n 's/.*guest_ns=\([0-9]*\).*/\1/p' "$1" | tail -1; }

# vstrace run (also builds the initramfs, which the other rows reuse).
run_row() { # vstrace run args...
    "$T/vstrace" run --add "$work/sysbench:/bin/sysbench" "$@" -- /bin/sh -c "$CMD" \
        >"$work/run.out" 2>"$work/err" || true
    ns_of "$work/run.out"
}
run_row --untraced >/dev/null
CPIO=""
for f in $(ls -t "${XDG_CACHE_HOME:-$HOME/.cache}"/vstrace/initramfs/*.cpio); do
    if cpio -i --quiet --to-stdout vstrace/cmd <"$f" 2>/dev/null | grep -qF "sysbench $N"; then
        CPIO=$f
        break
    fi
done
[ -n "$CPIO" ] || { echo "bench: the sysbench initramfs was not found" >&2; exit 1; }
KERNEL="${VSTRACE_KERNEL:-${XDG_CACHE_HOME:-$HOME/.cache}/vstrace/vmlinuz}"

# A user's command line: the command's stdout on the second serial port.
ARGS=(-kernel "$KERNEL" -initrd "$CPIO"
    -append "console=ttyS0 quiet panic=-1 8250.nr_uarts=4 rdinit=/init"
    -m 512M -cpu max,la57=off -display none -monitor none -no-reboot
    -serial "file:$work/console" -serial "file:$work/stdout"
    -serial "file:$work/stderr" -serial "file:$work/control")

user_row() { # mode: none|dormant|attached|vqemu
    : >"$work/stdout"
    : >"$work/control"
    local sock=$work/v.sock
    case $1 in
    none) "$QEMU" "${ARGS[@]}" -accel tcg 2>"$work/err" ;;
    dormant) "$QEMU" "${ARGS[@]}" -accel tcg -plugin "$PLUGIN,listen=unix:$sock" 2>"$work/err" ;;
    attached)
        "$QEMU" "${ARGS[@]}" -accel tcg -plugin "$PLUGIN,listen=unix:$sock,machine=pc,ram_mib=512" \
            2>"$work/err" &
        qpid=$!
        until grep -q VSTRACE_CMD_START "$work/control" 2>/dev/null; do
            kill -0 "$qpid" 2>/dev/null || { echo "bench: QEMU exited before its guest started" >&2; cat "$work/err" >&2; exit 1; }
            sleep 0.05
        done
        "$T/vstrace" attach --plugin "unix:$sock" --kernel "$KERNEL" -o /dev/null 2>>"$work/err"
        wait "$qpid" || true
        qpid=""
        ;;
    vqemu) "$T/vstrace" qemu -o /dev/null -- "$QEMU" "${ARGS[@]}" 2>"$work/err" ;;
    esac
    ns_of "$work/stdout"
}

best() { # label, function, args... : best guest ns of REPEATS
    local label=$1 b="" ns
    shift
    for _ in $(seq "$REPEATS"); do
        ns=$("$@")
        if [ -z "$ns" ]; then echo "bench: $label failed:" >&2; cat "$work/err" >&2; exit 1; fi
        if [ -z "$b" ] || [ "$ns" -lt "$b" ]; then b=$ns; fi
    done
    echo "$b"
}

none=$(best none user_row none)
dormant=$(best dormant user_row dormant)
attached=$(best attached user_row attached)
vqemu=$(best vqemu user_row vqemu)
rbase=$(best run-untraced run_row --untraced)
run=$(best run run_row -o /dev/null)

calls=$((2 * N))
awk -v n0="$none" -v d="$dormant" -v a="$attached" -v q="$vqemu" -v rb="$rbase" -v r="$run" -v n="$calls" -v qemu="$("$QEMU" --version | head -1)" 'BEGIN {
    printf "%s; workload: %d syscalls (read+write 1 byte), guest time, best of '"$REPEATS"'\n\n", qemu, n
    printf "| run | guest time (s) | slowdown | overhead per syscall (us) |\n|---|---|---|---|\n"
    printf "| own command line, no plugin | %.3f | 1.00x | - |\n", n0/1e9
    printf "| own command line, dormant plugin | %.3f | %.3fx | %.3f |\n", d/1e9, d/n0, (d-n0)/n/1e3
    printf "| dormant plugin + vstrace attach --plugin -o /dev/null | %.3f | %.2fx | %.2f |\n", a/1e9, a/n0, (a-n0)/n/1e3
    printf "| vstrace qemu -o /dev/null | %.3f | %.2fx | %.2f |\n", q/1e9, q/n0, (q-n0)/n/1e3
    printf "| vstrace run --untraced (its own command line) | %.3f | 1.00x | - |\n", rb/1e9
    printf "| vstrace run -o /dev/null | %.3f | %.2fx of run untraced | %.2f |\n", r/1e9, r/rb, (r-rb)/n/1e3
    printf "\ndormant / no plugin = %.3f (target <= 1.05)\n", d/n0
    printf "attached per-event overhead / vstrace run per-event overhead = %.3f (target 0.90 .. 1.10)\n", (a-n0)/(r-rb)
}'
