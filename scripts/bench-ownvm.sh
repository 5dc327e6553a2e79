#!/usr/bin/env bash
# Benchmark for tracing your own VM (issue 15), in ONE interleaved run:
# each sample runs every variant once, in turn, so that a slow minute on
# a shared machine hits all of them; each row is the median and the min
# over the samples. The measure is what scripts/bench.sh measures: the
# guest time of the syscall-bound workload (guests/progs/sysbench.c,
# ROUNDS x (1-byte read + 1-byte write)), timed inside the guest with the
# vDSO clock.
#
# Variants:
#   none      a user's own QEMU command line, no plugin
#   dormant   the same with -plugin libvstrace_plugin.so,listen=unix:...
#             (the default: no trap callback in translated code until a
#             client attaches)
#   eager     dormant with VSTRACE_PLUGIN_LAZY=0 (the trap callbacks stay
#             in translated code; a trap costs a call and an atomic load)
#   attached  the dormant plugin with `vstrace attach --plugin -o /dev/null`
#             attached from the boot on
#   untraced  `vstrace run --untraced` (vstrace's own command line)
#   run       `vstrace run -o /dev/null`
# Targets: dormant <= 1.05x none; attached's cost per call within 10 %
# of run's (attached - none vs run - untraced).
#
#   scripts/bench-ownvm.sh [ROUNDS] [SAMPLES] [QEMU]
#   VARIANTS="none dormant" selects variants (default: all six).
#   VSTRACE_BENCH_BIN=DIR: the vstrace binary and plugin in DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
SAMPLES="${2:-5}"
QEMU="${3:-qemu-system-x86_64}"
VARIANTS="${VARIANTS:-none dormant eager attached untraced run}"
if [ -n "${VSTRACE_BENCH_BIN:-}" ]; then
    T=$VSTRACE_BENCH_BIN
else
    cargo build --release --quiet -p vstrace-cli -p vstrace-plugin
    T=target/release
fi
PLUGIN=$(realpath "$T/libvstrace_plugin.so")
KERNEL="${VSTRACE_KERNEL:-${XDG_CACHE_HOME:-$HOME/.cache}/vstrace/vmlinuz}"
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$work"; true' EXIT
gcc -static -O2 -o "$work/sysbench" guests/progs/sysbench.c
CMD="echo START; /bin/sysbench $N"
# A run that needs more than this is broken, not slow.
LIMIT=900

fail() { # what
    echo "bench: $1 failed:" >&2
    cat "$work/err" >&2 || true
    exit 1
}

# Guest ns of the workload in file $1 (its last guest_ns=).
guest_ns() { sed -n 's/.*guest_ns=\([0-9]*\).*/\1/p' "$1" | tail -1; }

run_variant() { # untraced|run: vstrace run with its own command line
    local args=(--untraced)
    [ "$1" = run ] && args=(-o /dev/null)
    timeout "$LIMIT" "$T/vstrace" run --add "$work/sysbench:/bin/sysbench" "${args[@]}" \
        -- /bin/sh -c "$CMD" >"$work/out" 2>"$work/err" || fail "$1"
    guest_ns "$work/out"
}

# The initramfs `vstrace run` made for CMD (cached), for the user rows.
cpio_for_cmd() {
    local f
    for f in $(ls -t "${XDG_CACHE_HOME:-$HOME/.cache}"/vstrace/initramfs/*.cpio); do
        if cpio -i --quiet --to-stdout vstrace/cmd <"$f" 2>/dev/null | grep -qF "'$CMD'"; then
            echo "$f"
            return
        fi
    done
    echo "bench: the initramfs for '$CMD' was not found" >&2
    exit 1
}

user_variant() { # none|dormant|eager|attached: a user's own command line
    local sock=$work/v.sock q envs=()
    rm -f "$sock" "$work/stdout"
    local args=(-kernel "$KERNEL" -initrd "$CPIO"
        -append "console=ttyS0 quiet panic=-1 8250.nr_uarts=4 rdinit=/init"
        -m 512M -cpu max,la57=off -display none -monitor none -no-reboot -accel tcg -nic none
        -serial "file:$work/console" -serial "file:$work/stdout"
        -serial "file:$work/stderr" -serial "file:$work/control")
    case $1 in
    dormant | attached) args+=(-plugin "$PLUGIN,listen=unix:$sock,machine=pc,ram_mib=512") ;;
    eager)
        args+=(-plugin "$PLUGIN,listen=unix:$sock,machine=pc,ram_mib=512")
        envs=(VSTRACE_PLUGIN_LAZY=0)
        ;;
    esac
    env "${envs[@]}" timeout "$LIMIT" "$QEMU" "${args[@]}" 2>"$work/err" &
    q=$!
    pids+=("$q")
    if [ "$1" = attached ]; then
        # Attached from the boot on (before the workload, whatever the load).
        until [ -S "$sock" ]; do
            kill -0 "$q" 2>/dev/null || fail "$1 (QEMU)"
            sleep 0.02
        done
        timeout "$LIMIT" "$T/vstrace" attach --plugin "unix:$sock" --kernel "$KERNEL" \
            -o /dev/null 2>>"$work/err" &
        pids+=($!)
    fi
    wait "$q" || true
    [ "$1" = attached ] && { wait "${pids[-1]}" || fail "$1 (the client)"; }
    local ns
    ns=$(guest_ns "$work/stdout")
    [ -n "$ns" ] || fail "$1"
    echo "$ns"
}

echo "bench: $(uptime)" >&2
# Builds (and caches) the initramfs the user rows boot; not a sample.
run_variant untraced >/dev/null
CPIO=$(cpio_for_cmd)
for s in $(seq "$SAMPLES"); do
    echo "bench: sample $s of $SAMPLES ($(cut -d' ' -f1-3 /proc/loadavg))" >&2
    for v in $VARIANTS; do
        case $v in
        untraced | run) ns=$(run_variant "$v") ;;
        *) ns=$(user_variant "$v") ;;
        esac
        [ -n "$ns" ] || fail "$v"
        echo "$ns" >>"$work/$v"
    done
done
load_end=$(uptime)

# median and min of a file of numbers
stat2() { sort -n "$1" | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; print m, a[1]}'; }
calls=$((2 * N))
echo "$("$QEMU" --version | head -1); workload: $calls syscalls (read+write 1 byte);"
echo "guest time, median (min) of $SAMPLES interleaved samples; load: $load_end"
echo
echo "| variant | guest s | vs its base: median (min) | extra us per call (medians) |"
echo "|---|---|---|---|"
for v in $VARIANTS; do
    read -r m n < <(stat2 "$work/$v")
    base=none
    case $v in untraced | run) base=untraced ;; esac
    if [ -f "$work/$base" ]; then
        read -r bm bn < <(stat2 "$work/$base")
    else
        bm="" bn=""
    fi
    case $v in
    none) label="own command line, no plugin" ;;
    dormant) label="own command line, dormant plugin (listen=unix:...)" ;;
    eager) label="dormant plugin, VSTRACE_PLUGIN_LAZY=0 (trap callbacks kept)" ;;
    attached) label="dormant plugin + vstrace attach --plugin -o /dev/null" ;;
    untraced) label="vstrace run --untraced" ;;
    run) label="vstrace run -o /dev/null" ;;
    esac
    awk -v l="$label" -v m="$m" -v n="$n" -v bm="$bm" -v bn="$bn" -v c="$calls" 'BEGIN {
        if (bm == "") printf "| %s | %.3f (%.3f) | - | - |\n", l, m/1e9, n/1e9
        else printf "| %s | %.3f (%.3f) | %.3fx (%.3fx) | %.3f |\n", l, m/1e9, n/1e9, m/bm, n/bn, (m-bm)/c/1e3
    }'
done
echo
ratio() { # a b label
    [ -f "$work/$1" ] && [ -f "$work/$2" ] || return 0
    read -r am an < <(stat2 "$work/$1")
    read -r bm bn < <(stat2 "$work/$2")
    awk -v am="$am" -v an="$an" -v bm="$bm" -v bn="$bn" -v l="$3" \
        'BEGIN { printf "%s = %.3f (min %.3f)\n", l, am/bm, an/bn }'
}
ratio dormant none "dormant / no plugin (target <= 1.05)"
ratio eager none "dormant with VSTRACE_PLUGIN_LAZY=0 / no plugin"
if [ -f "$work/attached" ] && [ -f "$work/none" ] && [ -f "$work/run" ] && [ -f "$work/untraced" ]; then
    read -r am an < <(stat2 "$work/attached")
    read -r nm nn < <(stat2 "$work/none")
    read -r rm rn < <(stat2 "$work/run")
    read -r um un < <(stat2 "$work/untraced")
    # Contention only slows a sample down: the mins are the least noisy.
    awk -v am="$am" -v an="$an" -v nm="$nm" -v nn="$nn" -v rm="$rm" -v rn="$rn" -v um="$um" -v un="$un" \
        'BEGIN { printf "attached per-call cost / vstrace run per-call cost = %.3f (from the mins %.3f; target 0.90 .. 1.10)\n", (am-nm)/(rm-um), (an-nn)/(rn-un) }'
fi
echo
echo "per-sample guest ns:"
for v in $VARIANTS; do echo "  $v: $(tr '\n' ' ' <"$work/$v")"; done
