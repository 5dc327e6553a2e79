#!/usr/bin/env bash
# Installs what vstrace needs on a Debian 12 host, idempotently:
# QEMU 10.x from bookworm-backports, busybox-static, the Debian guest kernel
# (extracted from its .deb into a cache dir, not installed on the host), the
# tools the test guests are built with, and QEMU 11.1 (plugin API v7) from
# trixie-backports unpacked into a private prefix in the cache (nothing of
# trixie is installed on the host).
#
# The Debian mirror is the host's own (from its apt sources), so a machine
# with a local mirror or proxy works; VSTRACE_DEBIAN_MIRROR overrides it.
set -euo pipefail

CACHE="${VSTRACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vstrace}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

need_pkgs=()
have_qemu_ok() {
    command -v qemu-system-x86_64 >/dev/null 2>&1 || return 1
    local v
    v=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -1)
    [ "${v:-0}" -ge 10 ]
}

apt_updated=0
apt_update() {
    if [ "$apt_updated" = 0 ]; then
        retry_lists $SUDO apt-get update -qq
        apt_updated=1
    fi
}

# host_debian_mirror, debian_mirror: the mirror of the host's apt sources.
# shellcheck source=lib/debian-mirror.sh
. "$(dirname "$0")/lib/debian-mirror.sh"
# retry, retry_lists: a fetch tried again when the mirror fails it (a sync
# under way).
# shellcheck source=lib/retry.sh
. "$(dirname "$0")/lib/retry.sh"

# bookworm-backports for QEMU 10.x
if ! have_qemu_ok; then
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        mirror=$(debian_mirror)
        echo "vstrace setup: adding bookworm-backports ($mirror) to apt sources" >&2
        echo "deb $mirror bookworm-backports main" |
            $SUDO tee /etc/apt/sources.list.d/vstrace-backports.list >/dev/null
    fi
    apt_update
    retry $SUDO apt-get install -y -qq -t bookworm-backports qemu-system-x86 >/dev/null
fi

# python3-dev: the distribution's libpython3.11 (and its headers), which
# the Python hooks (--hooks FILE.py, crates/python) link against. gawk:
# the matcher of strace's tests that check their log with an awk program
# (scripts/strace-conformance.sh; without it they are skipped, as
# strace's own suite skips them).
for p in busybox-static strace xz-utils cpio binutils nasm gcc-multilib python3-dev gawk; do
    dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
    apt_update
    echo "vstrace setup: installing ${need_pkgs[*]}" >&2
    retry $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# The guest kernel: the .deb's vmlinuz, extracted into the cache.
mkdir -p "$CACHE"
if [ ! -s "$CACHE/vmlinuz" ]; then
    apt_update
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -1)
    [ -n "$pkg" ] || { echo "vstrace setup: cannot resolve linux-image-amd64" >&2; exit 1; }
    (cd "$tmp" && retry apt-get download -qq "$pkg")
    dpkg-deb -x "$tmp"/*.deb "$tmp/x"
    cp "$tmp"/x/boot/vmlinuz-* "$CACHE/vmlinuz.tmp"
    mv "$CACHE/vmlinuz.tmp" "$CACHE/vmlinuz"
    echo "$pkg" >"$CACHE/vmlinuz.package"
    echo "vstrace setup: guest kernel $pkg -> $CACHE/vmlinuz" >&2
fi
# The newer guest kernel: Debian's newest from bookworm-backports (6.12 at
# the time of writing; entry code with endbr64, rip-relative per-cpu
# accesses and verw between swapgs and sysretq), extracted the same way into
# the cache as vmlinuz-MAJOR.MINOR. The backports suite is in the sources
# already (QEMU above); only `-t`/`/suite` selection is used, nothing pinned.
if ! ls "$CACHE"/vmlinuz-6.* >/dev/null 2>&1; then
    apt_update
    tmpb=$(mktemp -d)
    trap 'rm -rf "$tmpb" ${tmp:+"$tmp"}' EXIT
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        mirror=$(debian_mirror)
        echo "vstrace setup: adding bookworm-backports ($mirror) to apt sources" >&2
        echo "deb $mirror bookworm-backports main" |
            $SUDO tee /etc/apt/sources.list.d/vstrace-backports.list >/dev/null
        apt_updated=0
        apt_update
    fi
    pkgb=$(apt-cache depends linux-image-amd64/bookworm-backports | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -1)
    [ -n "$pkgb" ] || { echo "vstrace setup: cannot resolve linux-image-amd64 in bookworm-backports" >&2; exit 1; }
    (cd "$tmpb" && retry apt-get download -qq -t bookworm-backports "$pkgb")
    dpkg-deb -x "$tmpb"/linux-image-*.deb "$tmpb/x"
    verb=$(echo "$pkgb" | sed -n 's/^linux-image-\([0-9]*\.[0-9]*\).*/\1/p')
    cp "$tmpb"/x/boot/vmlinuz-* "$CACHE/vmlinuz-$verb.tmp"
    mv "$CACHE/vmlinuz-$verb.tmp" "$CACHE/vmlinuz-$verb"
    echo "$pkgb" >"$CACHE/vmlinuz-$verb.package"
    echo "vstrace setup: backports guest kernel $pkgb -> $CACHE/vmlinuz-$verb" >&2
fi
# The 32-bit guest: Debian's i386 kernel (686 flavour) and an i386
# busybox-static, both extracted from their .debs into the cache (nothing
# i386 is installed on the host; only the i386 package lists are added).
if [ ! -s "$CACHE/vmlinuz-i386" ] || [ ! -s "$CACHE/busybox-i386" ]; then
    if ! dpkg --print-foreign-architectures | grep -qx i386; then
        echo "vstrace setup: adding the i386 architecture to apt (package lists only)" >&2
        $SUDO dpkg --add-architecture i386
        apt_updated=0
    fi
    apt_update
    tmp32=$(mktemp -d)
    trap 'rm -rf "$tmp32" ${tmp:+"$tmp"} ${tmpb:+"$tmpb"}' EXIT
    if [ ! -s "$CACHE/vmlinuz-i386" ]; then
        pkg32=$(apt-cache depends linux-image-686:i386 | sed -n 's/.*Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -1)
        [ -n "$pkg32" ] || { echo "vstrace setup: cannot resolve linux-image-686:i386" >&2; exit 1; }
        (cd "$tmp32" && retry apt-get download -qq "$pkg32:i386")
        dpkg-deb -x "$tmp32"/linux-image-*.deb "$tmp32/k"
        cp "$tmp32"/k/boot/vmlinuz-* "$CACHE/vmlinuz-i386.tmp"
        mv "$CACHE/vmlinuz-i386.tmp" "$CACHE/vmlinuz-i386"
        echo "$pkg32:i386" >"$CACHE/vmlinuz-i386.package"
        echo "vstrace setup: i386 guest kernel $pkg32 -> $CACHE/vmlinuz-i386" >&2
    fi
    if [ ! -s "$CACHE/busybox-i386" ]; then
        (cd "$tmp32" && retry apt-get download -qq busybox-static:i386)
        dpkg-deb -x "$tmp32"/busybox-static_*.deb "$tmp32/b"
        cp "$tmp32/b/bin/busybox" "$CACHE/busybox-i386.tmp"
        chmod 755 "$CACHE/busybox-i386.tmp"
        mv "$CACHE/busybox-i386.tmp" "$CACHE/busybox-i386"
        echo "vstrace setup: i386 busybox -> $CACHE/busybox-i386" >&2
    fi
fi
# The i386 kernel has no BTF: its profile (fd names, pid namespaces, module
# map) is made once from its -dbg package (scripts/i386-profile.sh; about
# 800 MB fetched, nothing kept but the profile). VSTRACE_SKIP_I386_PROFILE=1
# skips it (the i386 guest then has pids and names only).
if [ -s "$CACHE/vmlinuz-i386" ] && [ -z "${VSTRACE_SKIP_I386_PROFILE:-}" ]; then
    bash "$(dirname "$0")/i386-profile.sh"
fi
# Each cached kernel's System.map (its full symbol table), kept beside it
# as $CACHE/NAME.System.map, where vstrace looks for it: the link address
# of signal_setup_done, where the signal probe sits (the siginfo of a
# handler without SA_SIGINFO, crates/qemu-plugin/src/sigprobe.rs). A
# kernel without one is traced as before, without the probe. The image
# package's /boot/System.map is a one-line stub on Debian; the real one is
# in the -dbg package (about 1 GB fetched per kernel, once; only the map
# is unpacked). The package is the one the kernel came from (its .package
# file); vstrace checks a map against the image and ignores one that does
# not match (a package rebuilt on the mirror since).
# VSTRACE_SKIP_SYSTEM_MAP=1 skips this.
# fetch_dbg PKG: the package from the release, else (the backports
# kernel's) from bookworm-backports.
fetch_dbg() {
    apt-get download -qq "$1" 2>/dev/null || apt-get download -qq -t bookworm-backports "$1"
}
if [ -z "${VSTRACE_SKIP_SYSTEM_MAP:-}" ]; then
    for kp in "$CACHE"/vmlinuz*.package; do
        [ -e "$kp" ] || continue
        k=$(basename "$kp" .package)
        [ -s "$CACHE/$k" ] && [ ! -s "$CACHE/$k.System.map" ] || continue
        apt_update
        pkgm=$(cat "$kp")              # linux-image-6.1.0-57-686:i386
        arch=""
        case "$pkgm" in *:*) arch=":${pkgm##*:}" ;; esac
        image=${pkgm%:*}
        tmpm=$(mktemp -d "$CACHE/dbg.XXXXXX")
        echo "vstrace setup: fetching $image-dbg$arch for its System.map (once)" >&2
        # The backports kernel is only in bookworm-backports.
        if (cd "$tmpm" && retry fetch_dbg "$image-dbg$arch"); then
            dpkg-deb --fsys-tarfile "$tmpm"/*.deb |
                tar -x -C "$tmpm" --wildcards './usr/lib/debug/boot/System.map-*'
            map=$(ls "$tmpm"/usr/lib/debug/boot/System.map-* | head -1)
            cp "$map" "$CACHE/$k.System.map.tmp"
            mv "$CACHE/$k.System.map.tmp" "$CACHE/$k.System.map"
            echo "vstrace setup: System.map of $image -> $CACHE/$k.System.map" >&2
        else
            echo "vstrace setup: warning: cannot fetch $image-dbg$arch (no signal probe for $k)" >&2
        fi
        rm -rf "$tmpm"
    done
fi

# QEMU 11.1 (plugin API v7) from Debian 13: its .debs and the few newer
# libraries it needs (glibc among them) from trixie, fetched with a private
# apt configuration in the cache and unpacked into a private prefix; the
# wrapper starts it through that prefix's own dynamic loader. `vstrace run
# --qemu $CACHE/qemu-11.1/qemu-system-x86_64` uses it.
Q11="$CACHE/qemu-11.1"
if [ ! -x "$Q11/qemu-system-x86_64" ] || [ ! -s "$Q11/root/usr/bin/qemu-system-x86_64" ]; then
    mirror=$(debian_mirror)
    apt_dir="$CACHE/apt-trixie"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
    printf 'deb %s trixie main\ndeb %s trixie-backports main\n' "$mirror" "$mirror" >"$apt_dir/sources.list"
    apt_private=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
        -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Sandbox::User=root)
    echo "vstrace setup: fetching QEMU 11.1 from trixie-backports ($mirror) into $Q11" >&2
    retry_lists apt-get -qq "${apt_private[@]}" update
    rm -f "$apt_dir"/debs/*.deb
    (cd "$apt_dir/debs" && retry apt-get -qq "${apt_private[@]}" download \
        qemu-system-x86/trixie-backports qemu-system-data/trixie-backports \
        qemu-system-common/trixie-backports seabios/trixie-backports \
        libc6/trixie libcapstone5/trixie libfuse3-4/trixie libaio1t64/trixie libnettle8t64/trixie)
    rm -rf "$Q11.tmp"
    mkdir -p "$Q11.tmp/root"
    for d in "$apt_dir"/debs/*.deb; do dpkg-deb -x "$d" "$Q11.tmp/root"; done
    cat >"$Q11.tmp/qemu-system-x86_64" <<'WRAPPER'
#!/bin/sh
# QEMU 11.1 from Debian trixie-backports, run from its private prefix
# (made by scripts/setup-host.sh): its own glibc through its own loader,
# its own firmware first.
R="$(dirname "$(readlink -f "$0")")/root"
exec "$R/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
    --library-path "$R/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu" \
    "$R/usr/bin/qemu-system-x86_64" -L "$R/usr/share/qemu" -L "$R/usr/share/seabios" "$@"
WRAPPER
    chmod 755 "$Q11.tmp/qemu-system-x86_64"
    "$Q11.tmp/qemu-system-x86_64" --version | head -1 | grep -q 'version 11\.' ||
        { echo "vstrace setup: the unpacked QEMU 11 does not run" >&2; exit 1; }
    rm -rf "$Q11"
    mv "$Q11.tmp" "$Q11"
    rm -rf "$apt_dir/debs"
fi

echo "vstrace setup: ok (qemu $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'), kernel $CACHE/vmlinuz, qemu $("$Q11/qemu-system-x86_64" --version | head -1 | awk '{print $4}') in $Q11)" >&2
