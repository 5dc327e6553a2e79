#!/usr/bin/env bash
# Benchmark for tracing your own VM (issue 15): host CPU cost of the
# syscall-bound workload (guests/progs/sysbench.c, N x (read 1 byte +
# write 1 byte)) in a user's own QEMU command line:
#   no plugin | dormant plugin (listen=unix:...) | dormant plugin with
#   `vstrace attach --plugin -o /dev/null` | `vstrace qemu -o /dev/null`
#   | `vstrace run --untraced` | `vstrace run -o /dev/null`
# Targets: dormant <= 1.05x no plugin; attached within 10 % of vstrace
# run per event.
#
# The machine is shared: wall-clock and guest time are noise (and this
# host has no hardware counters for `perf stat -e instructions`). Each row
# is the host CPU time (perf stat task-clock) of the QEMU process from the
# moment the guest command starts (it prints START, then sleeps 3 s so that
# a client can attach) to QEMU's exit, once with N rounds and once with 0:
# the difference is the workload's cost; boot, attach and shutdown cancel.
#   scripts/bench-ownvm.sh [ROUNDS] [REPEATS] [QEMU]
# ROWS="none dormant lazy attached vqemu run" selects rows (default: all;
# lazy: the dormant plugin with VSTRACE_PLUGIN_LAZY=1, no translation
# callback until a client attaches).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-300000}"
REPEATS="${2:-3}"
QEMU="${3:-qemu-system-x86_64}"
ROWS="${ROWS:-none dormant lazy attached vqemu run}"
cargo build --release --quiet -p vstrace-cli -p vstrace-plugin
T=target/release
PLUGIN=$PWD/$T/libvstrace_plugin.so
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$work"; true' EXIT
gcc -static -O2 -o "$work/sysbench" guests/progs/sysbench.c
cmd_for() { echo "echo START; sleep 3; /bin/sysbench $1"; }

# Waits for START in file $1 while process $2 lives, then measures the CPU
# time of process $3 (default $2) until it exits: prints milliseconds.
window() {
    local out=$1 pid=$2 target=${3:-}
    until grep -q START "$out" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    [ -n "$target" ] || target=$(pgrep -P "$pid" | head -1)
    [ -n "$target" ] || return 1
    perf stat -x, -e task-clock -p "$target" -o "$work/perf" &
    local perf=$!
    pids+=("$perf")
    if [ "${ATTACH:-}" = 1 ]; then
        sleep 0.2
        "$T/vstrace" attach --plugin "unix:$work/v.sock" --kernel "$KERNEL" -o /dev/null \
            2>>"$work/err" &
        pids+=($!)
    fi
    wait "$pid" || true
    wait "$perf" || true
    awk -F, '$3 ~ /^task-clock/ { t = $1 } END { if (t == "") exit 1; printf "%.1f\n", t }' "$work/perf"
}

# vstrace run (also builds the initramfs the other rows reuse).
run_row() { # rounds, vstrace run args...
    local n=$1
    shift
    : >"$work/run.out"
    "$T/vstrace" run --add "$work/sysbench:/bin/sysbench" "$@" -- /bin/sh -c "$(cmd_for "$n")" \
        >"$work/run.out" 2>"$work/err" &
    local v=$!
    pids+=("$v")
    window "$work/run.out" "$v" || return 1
    grep -q guest_ns "$work/run.out" || return 1
}
cpio_for() { # rounds
    local f
    for f in $(ls -t "${XDG_CACHE_HOME:-$HOME/.cache}"/vstrace/initramfs/*.cpio); do
        if cpio -i --quiet --to-stdout vstrace/cmd <"$f" 2>/dev/null | grep -qF "'$(cmd_for "$1")'"; then
            echo "$f"
            return
        fi
    done
    echo "bench: the sysbench $1 initramfs was not found" >&2
    exit 1
}
run_row "$N" --untraced >/dev/null
run_row 0 --untraced >/dev/null
declare -A CPIO=([$N]=$(cpio_for "$N") [0]=$(cpio_for 0))
KERNEL="${VSTRACE_KERNEL:-${XDG_CACHE_HOME:-$HOME/.cache}/vstrace/vmlinuz}"

# A user's command line: the command's stdout on the second serial port.
args_for() { # rounds
    ARGS=(-kernel "$KERNEL" -initrd "${CPIO[$1]}"
        -append "console=ttyS0 quiet panic=-1 8250.nr_uarts=4 rdinit=/init"
        -m 512M -cpu max,la57=off -display none -monitor none -no-reboot
        -serial "file:$work/console" -serial "file:$work/stdout"
        -serial "file:$work/stderr" -serial "file:$work/control")
}

user_row() { # mode (none|dormant|lazy|attached|vqemu), rounds
    : >"$work/stdout"
    args_for "$2"
    local sock=$work/v.sock q
    case $1 in
    none) "$QEMU" "${ARGS[@]}" -accel tcg 2>"$work/err" & ;;
    dormant) "$QEMU" "${ARGS[@]}" -accel tcg -plugin "$PLUGIN,listen=unix:$sock" 2>"$work/err" & ;;
    lazy)
        VSTRACE_PLUGIN_LAZY=1 "$QEMU" "${ARGS[@]}" -accel tcg -plugin "$PLUGIN,listen=unix:$sock" \
            2>"$work/err" &
        ;;
    attached)
        "$QEMU" "${ARGS[@]}" -accel tcg \
            -plugin "$PLUGIN,listen=unix:$sock,machine=pc,ram_mib=512" 2>"$work/err" &
        ;;
    vqemu) "$T/vstrace" qemu -o /dev/null -- "$QEMU" "${ARGS[@]}" 2>"$work/err" & ;;
    esac
    q=$!
    pids+=("$q")
    case $1 in
    vqemu) window "$work/stdout" "$q" || return 1 ;;
    attached) ATTACH=1 window "$work/stdout" "$q" "$q" || return 1 ;;
    *) window "$work/stdout" "$q" "$q" || return 1 ;;
    esac
    grep -q guest_ns "$work/stdout" || return 1
}

best() { # label, function, args... : the lowest CPU ms of REPEATS
    local label=$1 b="" r
    shift
    for _ in $(seq "$REPEATS"); do
        if ! r=$("$@"); then echo "bench: $label failed:" >&2; cat "$work/err" >&2; exit 1; fi
        if [ -z "$b" ] || awk -v r="$r" -v b="$b" 'BEGIN { exit !(r < b) }'; then b=$r; fi
    done
    echo "$b"
}

declare -A R
for row in $ROWS; do
    for n in "$N" 0; do
        case $row in
        run)
            R[run-untraced,$n]=$(best "run --untraced $n" run_row "$n" --untraced)
            R[run,$n]=$(best "run $n" run_row "$n" -o /dev/null)
            ;;
        *) R[$row,$n]=$(best "$row $n" user_row "$row" "$n") ;;
        esac
    done
done

calls=$((2 * N))
{
    echo "$("$QEMU" --version | head -1); workload: $calls syscalls (read+write 1 byte)"
    echo "host CPU time of QEMU (perf stat task-clock) from the guest command's start to"
    echo "QEMU's exit, with $N rounds minus with 0 rounds; lowest of $REPEATS runs each"
    echo
    echo "| run | workload CPU (ms) | ratio | extra CPU per syscall (us) |"
    echo "|---|---|---|---|"
    for row in none dormant lazy attached vqemu run-untraced run; do
        [ -n "${R[$row,$N]:-}" ] || continue
        base=none
        case $row in run | run-untraced) base=run-untraced ;; esac
        [ -n "${R[$base,$N]:-}" ] || continue
        echo "$row ${R[$row,$N]} ${R[$row,0]} ${R[$base,$N]} ${R[$base,0]}"
    done | awk -v n="$calls" '{
        t = $2 - $3; bt = $4 - $5
        label["none"] = "own command line, no plugin"
        label["dormant"] = "own command line, dormant plugin (listen=unix:...)"
        label["lazy"] = "dormant plugin, VSTRACE_PLUGIN_LAZY=1 (nothing registered)"
        label["attached"] = "dormant plugin + vstrace attach --plugin -o /dev/null"
        label["vqemu"] = "vstrace qemu -o /dev/null"
        label["run-untraced"] = "vstrace run --untraced (its own command line)"
        label["run"] = "vstrace run -o /dev/null"
        printf "| %s | %.0f | %.3fx | %.3f |\n", label[$1], t, t / bt, (t - bt) * 1e3 / n
        e[$1] = (t - bt) * 1e3 / n
        if ($1 == "dormant") d = t / bt
        if ($1 == "lazy") l = t / bt
    } END {
        print ""
        if (d) printf "dormant / no plugin = %.3f (target <= 1.05)\n", d
        if (l) printf "dormant with VSTRACE_PLUGIN_LAZY=1 / no plugin = %.3f\n", l
        if (("attached" in e) && ("run" in e) && e["run"] > 0)
            printf "attached per-syscall cost / vstrace run per-syscall cost = %.3f (target 0.90 .. 1.10)\n", e["attached"] / e["run"]
    }'
}
