#!/usr/bin/env bash
# Regenerates crates/gdb/tests/data/entry-*.bin: the system call entry code
# of Debian's 6.1 guest kernel and of the newest bookworm-backports kernel
# in the cache, as the running guest has it (alternatives patched), dumped
# by `vstrace attach` (VSTRACE_GDB_DUMP_CODE: the entry address, 8 bytes
# little-endian, then 8 KiB of code). The gdb crate's decoder unit tests
# read them. The bytes are Debian's kernel code (GPL-2.0), kept as test
# data only.
# Needs a release build and the host setup (scripts/setup-host.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/vstrace
[ -x "$bin" ] || { echo "make-entry-fixtures: build first (cargo build --release)" >&2; exit 1; }
cache="${VSTRACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vstrace}"
newest=$(ls "$cache"/vmlinuz-[0-9]*.[0-9]* 2>/dev/null | grep -E '/vmlinuz-[0-9]+\.[0-9]+$' | sort -V | tail -1)
[ -n "$newest" ] || { echo "make-entry-fixtures: no newer kernel in $cache (scripts/setup-host.sh)" >&2; exit 1; }
out=crates/gdb/tests/data
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
dump() { # name, kernel image
    local name=$1 kernel=$2 sock="$tmp/$1.sock"
    "$bin" run --kernel "$kernel" --untraced --gdb "unix:$sock,server=on,wait=off" \
        --timeout 120 -- sh -c 'i=0; while [ $i -lt 300 ]; do cat /etc/hostname >/dev/null; i=$((i+1)); done' \
        >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.1; done
    sleep 3
    VSTRACE_GDB_DUMP_CODE="$tmp/$name.bin" "$bin" attach --gdb "unix:$sock" --kernel "$kernel" \
        --duration 1 -c -o /dev/null
    head -c 8200 "$tmp/$name.bin" >"$out/entry-$name.bin"
    wait "$pid" || true
    echo "make-entry-fixtures: $out/entry-$name.bin from $kernel" >&2
}
dump 6.1 "$cache/vmlinuz"
dump "$(basename "$newest" | sed 's/^vmlinuz-//')" "$newest"
