#!/usr/bin/env bash
# Host CPU cost per traced call, before/after: a short, load-robust
# companion to scripts/bench.sh. Each run's host CPU time (user + sys of
# vstrace and QEMU, boot included) is measured with /usr/bin/time; CPU
# time does not count waiting for a core, so it holds on a shared
# machine where guest (wall) time does not. The cost of tracing is the
# CPU time added over the untraced run of the same build, per call.
#
#   scripts/bench-cpu.sh [ROUNDS] [REPEATS] [DIR...]
#
# DIRs hold a `vstrace` binary and its `libvstrace_plugin.so` (e.g. a copy
# of an older build; default: this tree's target/release). Workloads
# (guests/progs/sysbench.c): the read+write loop (2 x ROUNDS calls) and
# the getppid loop (2 x ROUNDS calls) on 1 vCPU, and 2 threads x ROUNDS
# getppid on 2 vCPUs. Variants: untraced, `-c`, text -> /dev/null, and
# text with `--caller` and with `-k` (issue 19's cost rows).
# Runs are interleaved (each repeat runs every build and variant once);
# the minimum over the repeats is reported. Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-200000}"
REPEATS="${2:-3}"
shift $(($# < 2 ? $# : 2))
dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
    cargo build --release --quiet -p vstrace-cli -p vstrace-plugin
    dirs=(target/release)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -static -O2 -pthread -o "$work/sysbench" guests/progs/sysbench.c

workloads=(
    "rw|1|/bin/sysbench $N"
    "pp|1|/bin/sysbench $((2 * N)) getppid 1"
    "th2|2|/bin/sysbench $N getppid 2"
)
variants=("untraced|--untraced" "summary|-c -o $work/summary.txt" "text|-o /dev/null"
    "caller|--caller -o /dev/null" "stack|-k -o /dev/null")

for r in $(seq "$REPEATS"); do
    echo "bench-cpu: round $r of $REPEATS" >&2
    for w in "${workloads[@]}"; do
        IFS='|' read -r wname smp cmd <<<"$w"
        for d in "${!dirs[@]}"; do
            for v in "${variants[@]}"; do
                IFS='|' read -r vname args <<<"$v"
                # Up to 3 tries: on a starved host the guest kernel's boot-time
                # timer check can fail ("IO-APIC + timer doesn't work").
                ok=0
                for _try in 1 2 3; do
                    # shellcheck disable=SC2086 # word lists on purpose
                    if /usr/bin/time -f "%U %S" -o "$work/time" "${dirs[$d]}/vstrace" run --smp "$smp" \
                        --add "$work/sysbench:/bin/sysbench" $args -- $cmd >"$work/out" 2>"$work/err"; then
                        ok=1
                        break
                    fi
                done
                if [ $ok = 0 ]; then
                    echo "bench-cpu: ${dirs[$d]} $wname $vname failed:" >&2
                    cat "$work/err" >&2
                    exit 1
                fi
                awk '{ printf "%d\n", ($1 + $2) * 1e6 }' "$work/time" >>"$work/$d-$wname-$vname"
            done
        done
    done
done

min() { sort -n "$1" | head -1; }
echo "host CPU per call added over untraced (min of $REPEATS runs; $((2 * N)) calls per run)"
echo
echo "| build | workload | untraced CPU s | -c µs/call | text µs/call | --caller µs/call | -k µs/call |"
echo "|---|---|---|---|---|---|---|"
for d in "${!dirs[@]}"; do
    for w in "${workloads[@]}"; do
        wname=${w%%|*}
        base=$(min "$work/$d-$wname-untraced")
        c=$(min "$work/$d-$wname-summary")
        t=$(min "$work/$d-$wname-text")
        k=$(min "$work/$d-$wname-caller")
        s=$(min "$work/$d-$wname-stack")
        awk -v b="$base" -v c="$c" -v t="$t" -v k="$k" -v s="$s" -v n="$((2 * N))" -v d="${dirs[$d]}" -v w="$wname" \
            'BEGIN { printf "| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f |\n", d, w, b/1e6, (c-b)/n, (t-b)/n, (k-b)/n, (s-b)/n }'
    done
done
