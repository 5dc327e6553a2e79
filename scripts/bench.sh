#!/usr/bin/env bash
# Benchmark: guest time of a syscall-heavy workload (guests/progs/sysbench.c,
# N x (read 1 byte + write 1 byte)) in one run, side by side:
#   untraced | vstrace -c | vstrace text -> /dev/null | vstrace JSON -> file
#   | in-guest strace -f -o /dev/null | untraced and text with pti=on
# and the slowdowns relative to untraced. Target: vstrace's slowdown at
# most 1/10 of in-guest strace's.
#   scripts/bench.sh [ROUNDS] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-200000}"
REPEATS="${2:-3}"
bash scripts/setup-host.sh >/dev/null 2>&1 || bash scripts/setup-host.sh
cargo build --release --quiet --workspace
T=target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -static -O2 -o "$work/sysbench" guests/progs/sysbench.c

run() { # label, vstrace args..., prints guest ns (best of REPEATS)
    local label=$1; shift
    local best=""
    for _ in $(seq "$REPEATS"); do
        local ns
        ns=$("$T/vstrace" run --add "$work/sysbench:/bin/sysbench" --add /usr/bin/strace "$@" 2>"$work/err" |
            sed -n 's/.*guest_ns=\([0-9]*\).*/\1/p' | tail -1)
        if [ -z "$ns" ]; then echo "bench: $label failed:" >&2; cat "$work/err" >&2; exit 1; fi
        if [ -z "$best" ] || [ "$ns" -lt "$best" ]; then best=$ns; fi
    done
    echo "$best"
}

base=$(run untraced --untraced -- /bin/sysbench "$N")
summ=$(run summary -c -o "$work/summary.txt" -- /bin/sysbench "$N")
text=$(run text -o /dev/null -- /bin/sysbench "$N")
json=$(run json --json -o "$work/trace.jsonl" -- /bin/sysbench "$N")
strc=$(run strace --untraced -- strace -f -o /dev/null /bin/sysbench "$N")
# The same guest with page-table isolation forced on: every user-mode trap
# sees the user CR3, so attribution walks the kernel's page tables.
pbase=$(run untraced-pti --untraced --append pti=on -- /bin/sysbench "$N")
ptext=$(run text-pti -o /dev/null --append pti=on -- /bin/sysbench "$N")

calls=$((2 * N))
awk -v b="$base" -v s="$summ" -v t="$text" -v j="$json" -v st="$strc" -v pb="$pbase" -v pt="$ptext" -v n="$calls" 'BEGIN {
    printf "workload: %d syscalls (read+write 1 byte), guest time, best of '"$REPEATS"'\n\n", n
    printf "| run | guest time (s) | slowdown | overhead per syscall (us) |\n|---|---|---|---|\n"
    printf "| untraced | %.3f | 1.00x | - |\n", b/1e9
    printf "| vstrace -c (summary) | %.3f | %.2fx | %.2f |\n", s/1e9, s/b, (s-b)/n/1e3
    printf "| vstrace text -> /dev/null | %.3f | %.2fx | %.2f |\n", t/1e9, t/b, (t-b)/n/1e3
    printf "| vstrace --json -> file | %.3f | %.2fx | %.2f |\n", j/1e9, j/b, (j-b)/n/1e3
    printf "| in-guest strace -f | %.3f | %.2fx | %.2f |\n", st/1e9, st/b, (st-b)/n/1e3
    printf "| untraced, guest pti=on | %.3f | %.2fx | - |\n", pb/1e9, pb/b
    printf "| vstrace text, guest pti=on (attribution through the kernel page tables) | %.3f | %.2fx of pti=on untraced | %.2f |\n", pt/1e9, pt/pb, (pt-pb)/n/1e3
    printf "\nvstrace (text) overhead / strace overhead = %.3f (target <= 0.100)\n", (t-b)/(st-b)
    printf "vstrace (json) overhead / strace overhead = %.3f (target <= 0.100)\n", (j-b)/(st-b)
}'

# Context features (issue 19/17), in a function of their own: the cost of
# --caller (module map cached per address space, .dynsym per module),
# -y (a file-table walk per fd argument) and -P on a path no call uses
# (the filter runs before decoding), each against plain text.
bench_context() {
    local t c y p
    t=$text
    c=$(run text-caller -o /dev/null --caller -- /bin/sysbench "$N")
    y=$(run text-y -o /dev/null -y -- /bin/sysbench "$N")
    p=$(run text-P -o /dev/null -P /nonexistent -- /bin/sysbench "$N")
    awk -v b="$base" -v t="$t" -v c="$c" -v y="$y" -v p="$p" -v n="$calls" 'BEGIN {
        printf "\n| context option (text -> /dev/null) | guest time (s) | slowdown | extra per syscall over text (us) |\n|---|---|---|---|\n"
        printf "| --caller | %.3f | %.2fx | %.2f |\n", c/1e9, c/b, (c-t)/n/1e3
        printf "| -y | %.3f | %.2fx | %.2f |\n", y/1e9, y/b, (y-t)/n/1e3
        printf "| -P /nonexistent (no call matches) | %.3f | %.2fx | %.2f |\n", p/1e9, p/b, (p-t)/n/1e3
    }'
}
bench_context
