#!/usr/bin/env bash
# Benchmark: guest time of syscall-bound guest programs
# (guests/progs/sysbench.c), timed inside the guest with the vDSO clock,
# under every way of running vstrace, side by side in one interleaved run
# (each repeat runs every variant once, so a slow minute on a shared
# machine hits all of them), printed as slowdowns relative to the untraced
# guest: median and min over the repeats.
#
# Rows (issue 18's table): untraced; the no-op floor plugin
# (scripts/bench/floor-plugin.c: the same trap callbacks, empty); the
# plugin's event source alone (VSTRACE_PLUGIN_ENGINE=off); `-e
# trace=openat` (a filter that excludes everything the loops do); `-c`;
# text -> /dev/null; --json -> file; --record (+ text -> /dev/null);
# --caller, -k, -y, -P, -e trace-fds= (the last two match no call: their
# cost on calls that do not match, against `-e trace=openat`).
# Columns: the read+write loop (ROUNDS x (1-byte read + 1-byte write))
# and the getppid loop (2 x ROUNDS getppid). Then 2 threads x ROUNDS
# getppid on 1 and 2 vCPUs (text), and `vstrace replay` rates (-c, text, JSON)
# on the recording of the read+write loop.
#
#   scripts/bench.sh [ROUNDS] [REPEATS]
#   BENCH_STRACE=1: also in-guest `strace -f` and the pti=on pair (slow).
# Not a test: timings belong here, never in CI assertions (CI may run it
# with a tiny ROUNDS as a smoke test).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-200000}"
REPEATS="${2:-3}"
bash scripts/setup-host.sh >/dev/null 2>&1 || bash scripts/setup-host.sh
# VSTRACE_BENCH_BIN=DIR: benchmark the vstrace binary and plugin in DIR
# (e.g. a copy of an older build) instead of building this tree.
if [ -n "${VSTRACE_BENCH_BIN:-}" ]; then
    T=$VSTRACE_BENCH_BIN
else
    cargo build --release --quiet --workspace
    T=target/release
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -static -O2 -pthread -o "$work/sysbench" guests/progs/sysbench.c
gcc -shared -fPIC -O2 -o "$work/floor.so" scripts/bench/floor-plugin.c

# The workloads: 2N calls each (the threaded one: N per thread).
RW=(/bin/sysbench "$N")
PP=(/bin/sysbench "$((2 * N))" getppid 1)
TH=(/bin/sysbench "$N" getppid 2)

# Variants: name|environment|vstrace run arguments (word-split).
variants=(
    "untraced||--untraced"
    "floor||--plugin $work/floor.so"
    "engine-off|VSTRACE_PLUGIN_ENGINE=off|-o /dev/null"
    "openat||-e trace=openat -o /dev/null"
    "summary||-c -o $work/summary.txt"
    "text||-o /dev/null"
    "json||--json -o $work/trace.jsonl"
    "record||--record $work/@KEY@.vst -o /dev/null"
    "caller||--caller -o /dev/null"
    "stack||-k -o /dev/null"
    "fdnames||-y -o /dev/null"
    "tracepath||-P /nonexistent -o /dev/null"
    "tracefds||-e trace-fds=99 -o /dev/null"
)

run1() { # key, env, args, smp, workload...: appends the guest ns to $work/KEY
    # (@KEY@ in the arguments: the key, so each workload records its own file)
    local key=$1 envs=$2 args=${3//@KEY@/$1} smp=$4
    shift 4
    local ns
    # shellcheck disable=SC2086 # the arguments are word lists on purpose
    ns=$(env $envs /usr/bin/time -f "%U %S" -o "$work/time" "$T/vstrace" run --smp "$smp" --add "$work/sysbench:/bin/sysbench" \
        --add /usr/bin/strace $args -- "$@" 2>"$work/err" |
        sed -n 's/.*guest_ns=\([0-9]*\).*/\1/p' | tail -1)
    if [ -z "$ns" ]; then
        echo "bench: $key failed:" >&2
        cat "$work/err" >&2
        exit 1
    fi
    echo "$ns" >>"$work/$key"
    # Host CPU time of the whole run (vstrace, QEMU, boot included): on
    # a loaded machine guest time also counts waiting for a core, CPU time
    # does not.
    awk 'END { printf "%d\n", ($1 + $2) * 1e6 }' "$work/time" >>"$work/$key.cpu"
}

for r in $(seq "$REPEATS"); do
    echo "bench: round $r of $REPEATS" >&2
    for v in "${variants[@]}"; do
        IFS='|' read -r name envs args <<<"$v"
        run1 "rw-$name" "$envs" "$args" 1 "${RW[@]}"
        run1 "pp-$name" "$envs" "$args" 1 "${PP[@]}"
    done
    for smp in 1 2; do
        run1 "th$smp-untraced" "" "--untraced" "$smp" "${TH[@]}"
        run1 "th$smp-text" "" "-o /dev/null" "$smp" "${TH[@]}"
    done
    if [ "${BENCH_STRACE:-0}" = 1 ]; then
        run1 rw-strace "" "--untraced" 1 strace -f -o /dev/null "${RW[@]}"
        run1 rw-pti-untraced "" "--untraced --append pti=on" 1 "${RW[@]}"
        run1 rw-pti-text "" "-o /dev/null --append pti=on" 1 "${RW[@]}"
    fi
    # Replay of this round's recording of the read+write loop: wall ns,
    # events, and CPU µs (user + sys: robust to a loaded machine).
    rm -f "$work/pp-record.vst"
    for mode in summary text json; do
        case $mode in summary) flag=-c ;; text) flag=--text ;; json) flag=--json ;; esac
        t0=$(date +%s%N)
        /usr/bin/time -f "%U %S" -o "$work/time" "$T/vstrace" replay $flag -d -o /dev/null "$work/rw-record.vst" 2>"$work/replay.err"
        t1=$(date +%s%N)
        ev=$(sed -n 's/.*replayed \([0-9]*\) events.*/\1/p' "$work/replay.err")
        cpu=$(awk 'END { printf "%d", ($1 + $2) * 1e6 }' "$work/time")
        echo "$((t1 - t0)) $ev $cpu" >>"$work/replay-$mode"
    done
done

# median and min of a file of numbers
stat2() { sort -n "$1" | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; print m, a[1]}'; }
ratio() { # key base: "median× (min×)"
    read -r m1 n1 < <(stat2 "$work/$1")
    read -r m0 n0 < <(stat2 "$work/$2")
    awk -v a="$m1" -v b="$m0" -v c="$n1" -v d="$n0" 'BEGIN { printf "%.2fx (%.2fx)", a/b, c/d }'
}
secs() { read -r m n < <(stat2 "$work/$1"); awk -v m="$m" -v n="$n" 'BEGIN { printf "%.3f (%.3f)", m/1e9, n/1e9 }'; }

echo "workloads: read+write loop $((2 * N)) calls, getppid loop $((2 * N)) calls;"
echo "guest time slowdown vs untraced, median (min) of $REPEATS interleaved runs"
echo
echo "| variant | read+write loop | getppid loop |"
echo "|---|---|---|"
echo "| untraced (guest s) | $(secs rw-untraced) s | $(secs pp-untraced) s |"
label() {
    case $1 in
    floor) echo "no-op floor plugin (same trap callbacks)" ;;
    engine-off) echo "the plugin's event source alone (engine off)" ;;
    openat) echo "\`-e trace=openat\` (excludes every call of the loop)" ;;
    summary) echo "\`-c\`" ;;
    text) echo "text -> /dev/null" ;;
    json) echo "\`--json\` -> file" ;;
    record) echo "\`--record\` file + text -> /dev/null" ;;
    caller) echo "\`--caller\` (cached module map) text -> /dev/null" ;;
    stack) echo "\`-k\` (a user stack unwound per call) text -> /dev/null" ;;
    fdnames) echo "\`-y\` (a file-table walk per fd) text -> /dev/null" ;;
    tracepath) echo "\`-P /nonexistent\` (no call matches)" ;;
    tracefds) echo "\`-e trace-fds=99\` (no call matches)" ;;
    esac
}
for v in "${variants[@]}"; do
    name=${v%%|*}
    [ "$name" = untraced ] && continue
    echo "| $(label "$name") | $(ratio "rw-$name" rw-untraced) | $(ratio "pp-$name" pp-untraced) |"
done
echo
echo "Host CPU time of the whole run (boot included; robust to a loaded machine),"
echo "median (min), and the CPU added per call over untraced (from the medians):"
echo
echo "| variant | read+write CPU s | µs/call | getppid CPU s | µs/call |"
echo "|---|---|---|---|---|"
cpu() { # key base -> "median (min) | us per call"
    read -r m n < <(stat2 "$work/$1.cpu")
    read -r b _ < <(stat2 "$work/$2.cpu")
    awk -v m="$m" -v n="$n" -v b="$b" -v c="$((2 * N))" \
        'BEGIN { printf "%.2f (%.2f) | %.2f", m/1e6, n/1e6, (m-b)/c }'
}
for v in "${variants[@]}"; do
    name=${v%%|*}
    echo "| $name | $(cpu "rw-$name" rw-untraced) | $(cpu "pp-$name" pp-untraced) |"
done
echo
echo "| 2 threads x $N getppid, text -> /dev/null | 1 vCPU | 2 vCPUs |"
echo "|---|---|---|"
echo "| untraced (guest s) | $(secs th1-untraced) s | $(secs th2-untraced) s |"
echo "| traced / untraced | $(ratio th1-text th1-untraced) | $(ratio th2-text th2-untraced) |"
read -r a _ < <(stat2 "$work/th1-text")
read -r b _ < <(stat2 "$work/th1-untraced")
read -r c _ < <(stat2 "$work/th2-text")
read -r d _ < <(stat2 "$work/th2-untraced")
awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" \
    'BEGIN { printf "\n2-vCPU ratio / 1-vCPU ratio = %.2f (target <= 1.10)\n", (c/d)/(a/b) }'
echo
echo "| replay of the read+write recording | events | median (min) events/s, wall | median (min) events/s, CPU |"
echo "|---|---|---|---|"
for mode in summary text json; do
    ev=$(awk 'NR==1 {print $2}' "$work/replay-$mode")
    awk '{print $1}' "$work/replay-$mode" >"$work/replay-$mode.ns"
    awk '{print $3}' "$work/replay-$mode" >"$work/replay-$mode.us"
    read -r m n < <(stat2 "$work/replay-$mode.ns")
    read -r cm cn < <(stat2 "$work/replay-$mode.us")
    awk -v e="$ev" -v m="$m" -v n="$n" -v cm="$cm" -v cn="$cn" \
        -v l="$(case $mode in summary) echo '`replay -c`' ;; text) echo '`replay --text` -> /dev/null' ;; json) echo '`replay --json` -> /dev/null' ;; esac)" \
        'BEGIN { printf "| %s | %d | %.2f M (%.2f M) | %.2f M (%.2f M) |\n", l, e, e/m*1e3, e/n*1e3, e/(cm > 0 ? cm : 1), e/(cn > 0 ? cn : 1) }'
done
if [ "${BENCH_STRACE:-0}" = 1 ]; then
    echo
    echo "| in-guest strace -f (read+write) | $(ratio rw-strace rw-untraced) |"
    echo "| untraced, guest pti=on | $(ratio rw-pti-untraced rw-untraced) |"
    echo "| text, guest pti=on (vs pti=on untraced) | $(ratio rw-pti-text rw-pti-untraced) |"
fi
