#!/bin/sh
# Per-event cost of the gdb-stub backend (`vstrace attach`) beside the
# QEMU TCG plugin (`vstrace run`), on guests/progs/sysbench.c.
# Usage: scripts/bench-gdb.sh [ROUNDS]   (default 200000)
set -eu
cd "$(dirname "$0")/.."
export BENCH_ROUNDS="${1:-200000}"
cargo build --release --workspace >/dev/null
cargo test --release -p vstrace-cli --test attach_gdb bench_gdb_vs_plugin -- \
    --ignored --nocapture 2>/dev/null | grep -E '^\||untraced'
