#!/usr/bin/env bash
# Regenerates the replay regression fixtures in tests/fixtures/replay/:
# one recording of the Linux workload (guests/progs/workload.c on the
# Debian guest, with an injected error and a rewritten path so that
# modifications are recorded too) and one of the NT-ABI x64 guest (the
# Windows layer, with the seed's hook plugin), plus what `vstrace replay`
# printed for each (JSON Lines, text and the -c summary) when they were
# made. crates/cli/tests/replay_fixtures.rs replays the recordings and
# requires the same bytes: a refactoring that changes what a recording
# decodes to fails there.
#
# Run it only when a change of the output is intended, and commit the
# outputs with that change. `--outputs-only` keeps the recordings and
# regenerates only what `vstrace replay` prints for them (a change of the
# rendering, not of what is recorded). Needs a release build and the host setup
# (scripts/setup-host.sh).
#
# `--outputs-only` keeps the recordings and only replays them again: for
# a change of the output format (the JSON record's fields), where the
# recordings themselves are still right and the text must not change
# (`git diff` then shows the .txt and .summary untouched).
set -euo pipefail
outputs_only=false
[ "${1:-}" = --outputs-only ] && outputs_only=true
cd "$(dirname "$0")/.."
out=tests/fixtures/replay
bin=target/release/vstrace
[ -x "$bin" ] || { echo "make-replay-fixtures: build first (cargo build --release)" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
outputs_only=0
[ "${1:-}" = --outputs-only ] && outputs_only=1

if [ "$outputs_only" = 0 ]; then

if ! $outputs_only; then
gcc -static -O2 -o "$tmp/workload" guests/progs/workload.c
"$bin" run --add "$tmp/workload:/bin/workload" --timeout 120 \
    --inject 'unlink:error=EACCES' --rewrite-path /nonexistent/file=/tmp/vst/b.txt \
    --record "$out/linux-workload.vst" -o /dev/null -- /bin/workload

sh guests/nt-abi/build.sh "$tmp/nt" >/dev/null
"$bin" run --os windows --windows-version win10-22h2 --kernel "$tmp/nt/nt-abi-x64.bin" \
    --timeout 60 --record "$out/nt-abi-x64.vst" -o /dev/null
fi

fi

for rec in linux-workload nt-abi-x64; do
    "$bin" replay "$out/$rec.vst" --json >"$out/$rec.jsonl"
    "$bin" replay "$out/$rec.vst" >"$out/$rec.txt"
    "$bin" replay "$out/$rec.vst" -c >"$out/$rec.summary" 2>&1
done
ls -l "$out"
