#!/usr/bin/env bash
# A static 32-bit (i386) strace for the i386 guest: the host's strace is
# an x86-64 program, and the i386 (686) kernel runs 32-bit programs only.
# The option tests (crates/cli/tests/strace_options.rs) add it to the
# i386 guest's initramfs as the x86-64 guest gets the host's strace.
#
# Built from the strace source the conformance script fetches
# (scripts/strace-conformance.sh --fetch-only), out of tree, in the cache:
#   $CACHE/strace-i386/build-VERSION  (configure + make)
#   $CACHE/strace-i386/strace         (the static binary; printed on stdout)
# Idempotent: an existing binary is reused. Needs gcc's 32-bit multilib
# (gcc-multilib, libc6-dev-i386: scripts/setup-host.sh installs them).
# Environment: VSTRACE_CACHE (default ~/.cache/vstrace).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${VSTRACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vstrace}"
WORK="$CACHE/strace-i386"
OUT="$WORK/strace"
log() { echo "strace-i386: $*" >&2; }

if [ -x "$OUT" ]; then
    echo "$OUT"
    exit 0
fi

# Tests run at once (one per i386 option test) share the cache: one builds
# under the lock, the others wait for it and take its binary.
mkdir -p "$WORK"
exec 7>"$WORK/.lock"
flock 7
if [ -x "$OUT" ]; then
    echo "$OUT"
    exit 0
fi
# The source, fetched (once) by the conformance script.
eval "$(scripts/strace-conformance.sh --fetch-only | grep -E '^(SRC|VERSION)=')"
[ -x "$SRC/configure" ] || { log "no strace source in $SRC"; exit 1; }

BUILD="$WORK/build-$VERSION"
mkdir -p "$BUILD"
if [ ! -f "$BUILD/Makefile" ]; then
    log "configuring a static i386 strace $VERSION in $BUILD"
    # No multi-personality support (an i386 strace traces i386 programs
    # only), no libunwind/libdw (-k), no SELinux: a plain static binary.
    (cd "$BUILD" && CC="gcc -m32" CFLAGS="-m32 -O2" LDFLAGS="-static" \
        nice -n 10 "$SRC/configure" --host=i686-pc-linux-gnu \
        --build=x86_64-pc-linux-gnu --enable-mpers=no \
        --without-libunwind --without-libdw --without-libselinux \
        --disable-dependency-tracking --disable-gcc-Werror \
        >configure.log 2>&1) || {
        log "configure failed, see $BUILD/configure.log"
        exit 1
    }
fi
log "building (make -C src: its generated headers, then strace)"
nice -n 10 make -C "$BUILD/src" -j2 >"$BUILD/build.log" 2>&1 || {
    log "build failed, see $BUILD/build.log"
    exit 1
}
file_type=$(file -b "$BUILD/src/strace" 2>/dev/null || true)
case "$file_type" in
*"32-bit"*"statically linked"* | *"32-bit"*"static-pie"*) ;;
*) log "$BUILD/src/strace is not a static 32-bit program: $file_type"; exit 1 ;;
esac
cp "$BUILD/src/strace" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$OUT"
