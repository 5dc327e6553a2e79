#!/usr/bin/env bash
# The i386 (686) guest kernel has no BTF: vstrace reads its fd table
# (-y, -P), pid namespaces and memory map (--caller, -k) with a profile
# made from its debug info. This fetches the kernel's -dbg package with
# the host's apt (as setup-host.sh fetches the kernel), extracts only the
# vmlinux, makes the profile once with `vstrace profile --from-dwarf` into
# the cache (profiles/BUILD-ID.json, which vstrace finds by the kernel's
# build id with no option) and deletes the rest. Idempotent: a no-op when
# the cached kernel's profile is there. Needs the i386 kernel in the cache
# (setup-host.sh); VSTRACE_BIN names a built vstrace (else it is built).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${VSTRACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vstrace}"
[ -s "$CACHE/vmlinuz-i386.package" ] || {
    echo "vstrace i386 profile: no i386 kernel in $CACHE (run scripts/setup-host.sh)" >&2
    exit 1
}
# Tests run at once share the profile: one makes it under the lock, the
# others wait and find it made.
exec 7>"$CACHE/.i386-profile.lock"
flock 7
pkg=$(cat "$CACHE/vmlinuz-i386.package") # linux-image-6.1.0-57-686:i386
stamp="$CACHE/vmlinuz-i386.profile"      # the package, the profile's path, its version
# Raised when the DWARF reader keeps more structures (profile::dwarf::STRUCTS):
# a profile made before lacks them, and is made again. 2: unix sockets (-yy).
version=2
if [ -s "$stamp" ] && [ "$(sed -n 1p "$stamp")" = "$pkg" ] && [ -s "$(sed -n 2p "$stamp")" ] &&
    [ "$(sed -n 3p "$stamp")" = "$version" ]; then
    exit 0
fi
image=${pkg%:i386}
release=${image#linux-image-}
start=$(date +%s)
tmp=$(mktemp -d "$CACHE/dbg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "vstrace i386 profile: fetching $image-dbg (about 800 MB, once)" >&2
# shellcheck source=lib/retry.sh
. "$(dirname "$0")/lib/retry.sh"
(cd "$tmp" && retry apt-get download -qq "$image-dbg:i386")
dpkg-deb --fsys-tarfile "$tmp"/*.deb |
    tar -x -C "$tmp" "./usr/lib/debug/boot/vmlinux-$release" "./usr/lib/debug/boot/System.map-$release"
rm -f "$tmp"/*.deb
# The same package's System.map, for the signal probe (setup-host.sh
# would otherwise fetch the package again for it).
if [ -s "$tmp/usr/lib/debug/boot/System.map-$release" ] && [ ! -s "$CACHE/vmlinuz-i386.System.map" ]; then
    cp "$tmp/usr/lib/debug/boot/System.map-$release" "$CACHE/vmlinuz-i386.System.map.tmp"
    mv "$CACHE/vmlinuz-i386.System.map.tmp" "$CACHE/vmlinuz-i386.System.map"
fi
bin=${VSTRACE_BIN:-}
if [ -z "$bin" ]; then
    cargo build --release -q -p vstrace-cli
    bin=target/release/vstrace
fi
out=$("$bin" profile --from-dwarf "$tmp/usr/lib/debug/boot/vmlinux-$release")
printf '%s\n%s\n%s\n' "$pkg" "$out" "$version" >"$stamp.tmp"
mv "$stamp.tmp" "$stamp"
echo "vstrace i386 profile: $out ($(($(date +%s) - start)) s)" >&2
