#!/usr/bin/env bash
# Benchmark: the cost of Python hooks (--hooks FILE.py) on the
# syscall-bound workload of scripts/bench.sh (guests/progs/sysbench.c,
# N x (read 1 byte + write 1 byte)), guest time, side by side:
#   vstrace text -> /dev/null, no hooks
#   | a Python hook on a rare call (openat: a handful per run)
#   | a no-op Python hook on every call (enter_any: pass)
#   | a Python hook on every call that reads an argument and sets hook data
# The rare hook must cost nothing measurable (only hooked calls enter
# Python); the every-call rows give the cost per hooked call.
#   scripts/bench-python.sh [ROUNDS] [REPEATS]   (default 100000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
REPEATS="${2:-5}"
bash scripts/setup-host.sh >/dev/null 2>&1 || bash scripts/setup-host.sh
cargo build --release --quiet -p vstrace-cli -p vstrace-plugin
T=target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -static -O2 -o "$work/sysbench" guests/progs/sysbench.c

cat >"$work/rare.py" <<'PY'
def enter_openat(syscall):
    syscall.hook = {'path': syscall.arg_string(2)}
PY
cat >"$work/noop.py" <<'PY'
def enter_any(syscall):
    pass
PY
cat >"$work/every.py" <<'PY'
def enter_any(syscall):
    fd = syscall.arg(1)
    syscall.hook = {'fd': fd, 'nr': syscall.nr}
PY

# One run of config `label`: prints its guest ns.
once() { # label, vstrace args...
    local label=$1; shift
    local ns="" try
    # Under heavy host load the guest kernel's boot-time timer check can
    # fail (a kernel panic before the workload): boot again.
    for try in 1 2 3; do
        ns=$("$T/vstrace" run --add "$work/sysbench:/bin/sysbench" "$@" 2>"$work/err" |
            sed -n 's/.*guest_ns=\([0-9]*\).*/\1/p' | tail -1)
        if [ -n "$ns" ] || ! grep -q "timer doesn't work" "$work/err"; then break; fi
        echo "bench: $label: the guest's timer check failed at boot (host load), try $try" >&2
    done
    if [ -z "$ns" ]; then echo "bench: $label failed:" >&2; cat "$work/err" >&2; exit 1; fi
    echo "$ns"
}

# The configurations, run in turn REPEATS times (interleaved, so that a
# change in the host's load hits them all alike); the best of each.
labels=(base text rare noop every)
declare -A args=(
    [base]="--untraced"
    [text]="-o /dev/null"
    [rare]="-o /dev/null --hooks $work/rare.py"
    [noop]="-o /dev/null --hooks $work/noop.py"
    [every]="-o /dev/null --hooks $work/every.py"
)
declare -A best
for _ in $(seq "$REPEATS"); do
    for l in "${labels[@]}"; do
        # shellcheck disable=SC2086 # the options are words
        ns=$(once "$l" ${args[$l]} -- /bin/sysbench "$N")
        if [ -z "${best[$l]:-}" ] || [ "$ns" -lt "${best[$l]}" ]; then best[$l]=$ns; fi
    done
done
base=${best[base]} text=${best[text]} rare=${best[rare]} noop=${best[noop]} every=${best[every]}

calls=$((2 * N))
awk -v b="$base" -v t="$text" -v r="$rare" -v o="$noop" -v e="$every" -v n="$calls" 'BEGIN {
    printf "workload: %d syscalls (read+write 1 byte), guest time, best of '"$REPEATS"'\n\n", n
    printf "| run | guest time (s) | vs. no hooks | added per syscall (us) |\n|---|---|---|---|\n"
    printf "| untraced | %.3f | - | - |\n", b/1e9
    printf "| vstrace text -> /dev/null, no hooks | %.3f | 1.00x | - |\n", t/1e9
    printf "| + Python hook on a rare call (enter_openat) | %.3f | %.3fx | %.3f |\n", r/1e9, r/t, (r-t)/n/1e3
    printf "| + no-op Python hook on every call (enter_any: pass) | %.3f | %.2fx | %.2f |\n", o/1e9, o/t, (o-t)/n/1e3
    printf "| + Python hook on every call (arg(1), nr, hook data) | %.3f | %.2fx | %.2f |\n", e/1e9, e/t, (e-t)/n/1e3
}'
