#!/usr/bin/env bash
# Instructions per replayed event, before/after: a noise-free companion
# to scripts/bench.sh for the engine and the trace reader. Guest and CPU
# time swing by tens of percent on a shared host; the instructions a
# replay executes (counted by valgrind's callgrind) do not, so a change
# of a few percent in the engine's or the reader's work shows here when
# the timed benchmark cannot see it. The engine is the live run's: what
# a replay saves on deciding, decoding and printing a call, a live run
# saves too (the live run's own costs, the guest reads and the register
# snapshot, are not counted here).
#
#   scripts/bench-instructions.sh [ROUNDS] [DIR...]
#
# Records ROUNDS rounds of the read+write loop (guests/progs/sysbench.c,
# 2 x ROUNDS calls, text output) with the first build, then replays the
# recording under each build with `-c`, text and `--json` to /dev/null
# and prints instructions in total and per event, and each build's
# against the first's. DIRs hold a `vstrace` binary and its
# `libvstrace_plugin.so` (e.g. a copy of an older build; default: this
# tree's target/release). Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-20000}"
shift $(($# < 1 ? $# : 1))
dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
    cargo build --release --quiet -p vstrace-cli -p vstrace-plugin
    dirs=(target/release)
fi
if ! command -v valgrind >/dev/null; then
    echo "bench-instructions: valgrind is needed (Debian: apt-get install valgrind)" >&2
    exit 1
fi
bash scripts/setup-host.sh >/dev/null 2>&1 || bash scripts/setup-host.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -static -O2 -pthread -o "$work/sysbench" guests/progs/sysbench.c
if ! "${dirs[0]}/vstrace" run --add "$work/sysbench:/bin/sysbench" --record "$work/rw.vst" \
    -o /dev/null -- /bin/sysbench "$N" >"$work/run.out" 2>"$work/run.err"; then
    echo "bench-instructions: the recording failed:" >&2
    cat "$work/run.err" >&2
    exit 1
fi
events=$("${dirs[0]}/vstrace" replay -c -d -o /dev/null "$work/rw.vst" 2>&1 |
    sed -n 's/.*replayed \([0-9]*\) events.*/\1/p')
if [ -z "$events" ] || [ "$events" -eq 0 ]; then
    echo "bench-instructions: the recording holds no event" >&2
    exit 1
fi
echo "recording: read+write loop, $N rounds, $events events, $(stat -c %s "$work/rw.vst") bytes"
echo
echo "| replay | build | instructions | per event | vs first build |"
echo "|---|---|---|---|---|"
for mode in -c --text --json; do
    first=
    for d in "${dirs[@]}"; do
        valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
            "$d/vstrace" replay $mode -o /dev/null "$work/rw.vst" >/dev/null 2>"$work/cg.err" || {
            echo "bench-instructions: replay $mode under $d failed:" >&2
            tail -5 "$work/cg.err" >&2
            exit 1
        }
        ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/cg.err")
        first=${first:-$ir}
        awk -v m="$mode" -v d="$d" -v ir="$ir" -v ev="$events" -v f="$first" \
            'BEGIN { printf "| `%s` | %s | %d | %.0f | %.3f |\n", m, d, ir, ir / ev, ir / f }'
    done
done
