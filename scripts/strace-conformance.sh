#!/usr/bin/env bash
# strace's own test suite as the specification of vstrace's decoding.
#
# 1. Fetches Debian's strace source package (the version of the host's
#    strace if the mirror has it, else the distribution's current one) with
#    apt-get source, through a PRIVATE apt configuration: deb-src lines made
#    from the host's own apt sources (the host's configuration is read, never
#    changed), lists and archives kept in the cache directory.
# 2. Configures strace and builds the test programs under tests/ statically,
#    once per source version (cached; programs that do not link statically
#    are recorded as skipped with the linker's reason).
# 3. Runs the comparer (crates/cli/examples/strace_conformance.rs): every
#    program in a guest under vstrace with the options its test uses, the
#    trace compared with the lines the program printed. Writes
#    target/conformance/report.json, report.txt, per-test diffs, and
#    passing.txt (the tests that passed, for the CI regression subset).
#
# Usage: scripts/strace-conformance.sh [--arch x86_64|i386] [--fetch-only]
#            [--build-only] [--update-passing] [-- COMPARER-ARGS...]
#   --arch i386: the programs built with -m32 (statically, in a build tree
#   of their own: build-VERSION-i386), run on the i386 (686) kernel's
#   guest; the report goes to target/conformance-i386.
#   COMPARER-ARGS: --only T1,T2 | --only-file FILE | --batch N | --check FILE
#   --update-passing: after the run, copy its passing.txt to
#   crates/cli/tests/data/strace-conformance-passing.txt (the CI guard's
#   list of tests known to pass; commit it).
# --fetch-only and --build-only print SRC=, BUILD= and VERSION= lines on stdout (the CI
# subset, crates/cli/tests/strace_conformance.rs, runs the comparer itself).
# Environment: VSTRACE_CACHE (default ~/.cache/vstrace), STRACE_VERSION
# (a Debian version of the strace source package to use instead),
# STRACE_CONFORMANCE_PROGRAMS (a file of program names: unless the full
# build is already there, build only those).
# KEEP_RECORDINGS=1 keeps every batch's recording (rec.vst);
# REUSE_RECORDINGS=1 also keeps them and replays a batch whose script is
# unchanged from its kept recording instead of running the guest again
# (decoder changes measured without guest runs).
# The project ships no strace code: the source is fetched here.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# retry, retry_lists: a fetch tried again when the mirror fails it (a
# sync under way).
# shellcheck source=lib/retry.sh
. scripts/lib/retry.sh

CACHE="${VSTRACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vstrace}"
WORK="$CACHE/strace-conformance"
APTDIR="$WORK/apt"
fetch_only=0 build_only=0 update_passing=0 arch=x86_64
while [ $# -gt 0 ]; do
    case "$1" in
    --arch) arch=$2; shift
        case "$arch" in x86_64 | i386) ;; *) echo "--arch x86_64|i386" >&2; exit 2 ;; esac ;;
    --fetch-only) fetch_only=1 ;;
    --build-only) build_only=1 ;;
    --update-passing) update_passing=1 ;;
    --) shift; break ;;
    *) echo "usage: $0 [--arch x86_64|i386] [--fetch-only] [--build-only] [--update-passing] [-- COMPARER-ARGS...]" >&2; exit 2 ;;
    esac
    shift
done

log() { echo "strace-conformance: $*" >&2; }

# --- 1. a private apt configuration from the host's own sources ----------

# Prints "URI SUITE COMPONENTS... [signed-by=KEYRING]" for every enabled
# binary ("deb") entry of the host's one-line (*.list) and deb822 (*.sources)
# files. Only the host's mirrors are used: no mirror is named here.
host_deb_entries() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        # deb [opts] uri suite comp...
        sed -e 's/#.*//' "$f" | awk '
            $1 != "deb" { next }
            {
                i = 2; signed = ""
                if ($2 ~ /^\[/) {
                    while (i <= NF) {
                        o = $i; gsub(/[\[\]]/, "", o)
                        if (o ~ /^signed-by=/) signed = o
                        if ($i ~ /\]$/) { i++; break }
                        i++
                    }
                }
                line = $i; suite = $(i + 1)
                for (j = i + 2; j <= NF; j++) line = line " " $j
                # uri suite comps
                split(line, a, " ")
                out = a[1] " " suite
                for (j = 2; j <= length(a); j++) out = out " " a[j]
                if (signed != "") out = out " " signed
                print out
            }'
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # deb822 stanzas separated by blank lines; one line per (URI, suite).
        awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "") {
                    nu = split(uris, u, " "); ns = split(suites, s, " ")
                    for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++) {
                        out = u[a] " " s[b] " " comps
                        if (signed != "") out = out " signed-by=" signed
                        print out
                    }
                }
                types = uris = suites = comps = signed = enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            {
                k = tolower($1); sub(/:$/, "", k); v = $0
                sub(/^[^:]*:[ \t]*/, "", v)
                if (k == "types") types = v
                else if (k == "uris") uris = v
                else if (k == "suites") suites = v
                else if (k == "components") comps = v
                else if (k == "signed-by") signed = v
                else if (k == "enabled") enabled = tolower(v)
            }
            END { flush() }' "$f"
    done
}

# apt_private TOOL ARGS...: apt-get or apt-cache on the private configuration.
apt_private() {
    local tool=$1
    shift
    "$tool" -q \
        -o Dir::Etc::SourceList="$APTDIR/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$APTDIR/lists" \
        -o Dir::Cache="$APTDIR/cache" \
        -o Dir::State::status=/var/lib/dpkg/status \
        -o APT::Sandbox::User="$(id -un)" \
        "$@"
}

fetch_source() {
    mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$WORK/src"
    # Only the distribution's own entries (the ones whose suite is this
    # release's codename or a suffix of it): third-party repositories have
    # no strace.
    local codename
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    host_deb_entries | awk -v c="$codename" '
        $2 == c || index($2, c "-") == 1 || c == "" {
            signed = ""
            if ($NF ~ /^signed-by=/) { signed = " [" $NF "]"; $NF = "" }
            uri = $1; $1 = ""
            print "deb-src" signed " " uri $0
        }' | sed 's/ *$//' | sort -u >"$APTDIR/sources.list.new"
    if [ ! -s "$APTDIR/sources.list.new" ]; then
        log "no Debian deb entry for '$codename' in the host's apt sources"
        exit 1
    fi
    if ! cmp -s "$APTDIR/sources.list.new" "$APTDIR/sources.list" 2>/dev/null ||
        [ -z "$(ls -A "$APTDIR/lists" | grep -v '^partial$\|^lock$' || true)" ]; then
        mv "$APTDIR/sources.list.new" "$APTDIR/sources.list"
        log "apt-get update (private configuration: $APTDIR/sources.list)"
        retry_lists apt_private apt-get update -qq >&2
    else
        rm -f "$APTDIR/sources.list.new"
    fi
    local want="${STRACE_VERSION:-}"
    if [ -z "$want" ]; then
        local host_v
        host_v=$(dpkg-query -W -f '${Version}' strace 2>/dev/null || true)
        if [ -n "$host_v" ] && apt_private apt-cache showsrc "strace=$host_v" 2>/dev/null | grep -c "^Version: $host_v\$" >/dev/null; then
            want=$host_v
        else
            want=$(apt_private apt-cache showsrc strace 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -1)
        fi
    fi
    [ -n "$want" ] || { log "the mirror has no strace source package"; exit 1; }
    VERSION=$want
    local upstream=${want#*:}
    upstream=${upstream%-*}
    SRC="$WORK/src/strace-$want"
    if [ -f "$SRC/.extracted" ]; then
        return
    fi
    log "fetching strace $want source"
    local dl="$WORK/dl-$want"
    mkdir -p "$dl"
    (cd "$dl" && retry apt_private apt-get source --download-only -qq "strace=$want" >&2)
    rm -rf "$SRC"
    dpkg-source -x "$dl"/strace_"${want#*:}".dsc "$SRC" >&2
    touch "$SRC/.extracted"
}

# --- 2. configure and build the test programs statically -----------------

build_tests() {
    BUILD="$WORK/build-$VERSION"
    local cfg_arch=()
    if [ "$arch" = i386 ]; then
        # 32-bit programs: the host compiler with -m32 (gcc-multilib),
        # configured for i686 so that the tests use the i386 syscall table.
        BUILD="$WORK/build-$VERSION-i386"
        cfg_arch=(--host=i686-pc-linux-gnu "CC=gcc -m32" "CPP=gcc -m32 -E")
    fi
    if [ -f "$BUILD/.built" ]; then
        return
    fi
    local subset="${STRACE_CONFORMANCE_PROGRAMS:-}"
    mkdir -p "$BUILD"
    if [ ! -f "$BUILD/Makefile" ]; then
        log "configuring strace $VERSION in $BUILD"
        # No multi-personality builds (tests-m32, tests-mx32): the x86-64
        # programs are the specification measured here.
        (cd "$BUILD" && nice -n 10 "$SRC/configure" --enable-mpers=no \
            --disable-dependency-tracking "${cfg_arch[@]}" >configure.log 2>&1) || {
            log "configure failed, see $BUILD/configure.log"
            exit 1
        }
    fi
    log "building libtests.a and the test programs (static)"
    # The tests include src's generated syscall-number header.
    nice -n 10 make -C "$BUILD/src" scno.h >"$BUILD/build-lib.log" 2>&1
    nice -n 10 make -C "$BUILD/tests" -j2 libtests.a >>"$BUILD/build-lib.log" 2>&1 || {
        log "building libtests.a failed, see $BUILD/build-lib.log"
        exit 1
    }
    # The check programs the test suite builds (check_PROGRAMS).
    local progs
    progs=$(make -C "$BUILD/tests" -s --no-print-directory -f Makefile -f - print-check-programs <<'EOF'
print-check-programs:
	@echo $(check_PROGRAMS)
EOF
    )
    echo "$progs" | tr ' ' '\n' | sed '/^$/d' | sed 's/\$(EXEEXT)//' | sort -u >"$BUILD/check-programs.txt"
    if [ -n "$subset" ]; then
        # Only the programs asked for (that the suite has); no stamp: the
        # full build still happens on a full run.
        log "building the $(wc -l <"$subset") programs of $subset"
        # shellcheck disable=SC2046
        nice -n 10 make -C "$BUILD/tests" -k -j2 LDFLAGS=-static \
            $(grep -Fxf "$subset" "$BUILD/check-programs.txt") >"$BUILD/build-subset.log" 2>&1 || true
        return
    fi
    log "$(wc -l <"$BUILD/check-programs.txt") check programs; building (this takes a while)"
    # -k: a program that does not build (statically) must not stop the rest.
    # shellcheck disable=SC2046
    nice -n 10 make -C "$BUILD/tests" -k -j2 LDFLAGS=-static \
        $(cat "$BUILD/check-programs.txt") >"$BUILD/build.log" 2>&1 || true
    # Programs that failed: one line each, "NAME<TAB>reason" (the first
    # error line the build printed for it).
    : >"$BUILD/build-skipped.tsv"
    local p reason
    while read -r p; do
        if [ ! -x "$BUILD/tests/$p" ]; then
            reason=$(grep -m1 -E "(^| )$p(\.o)?[:']|$p\.c:[0-9]+:[0-9]+: error|undefined reference" "$BUILD/build.log" |
                cut -c1-200 | tr '\t' ' ')
            printf '%s\tdoes not build statically: %s\n' "$p" "${reason:-see build.log}" >>"$BUILD/build-skipped.tsv"
        fi
    done <"$BUILD/check-programs.txt"
    log "$(wc -l <"$BUILD/build-skipped.tsv") programs did not build"
    touch "$BUILD/.built"
}

# The guest kernel's netlink modules: NETLINK_NETFILTER, NETLINK_XFRM
# and NETLINK_CRYPTO are modules in Debian's kernels, and the tests that
# talk to them (netlink_netfilter, nfnetlink_*, netlink_xfrm,
# netlink_crypto, nlattr_crypto_user_alg) skip themselves where the
# socket cannot be made. The modules come from the package the cached
# guest kernel was extracted from (its name in the cache's .package
# file), only those files unpacked, into $WORK/modules/PACKAGE; the
# build tree's guest-modules link names them for the comparer (which
# loads them, in the order of load-order, before a batch's programs
# run). Without the package (an offline machine, a kernel the mirror
# no longer has) the tests skip themselves as before.
GUEST_MODULES="nfnetlink xfrm_algo xfrm_user crypto_user"
fetch_modules() {
    local pkgfile="$CACHE/vmlinuz.package" link="$BUILD/guest-modules"
    [ "$arch" = i386 ] && pkgfile="$CACHE/vmlinuz-i386.package"
    if [ ! -s "$pkgfile" ]; then
        rm -f "$link"
        return 0
    fi
    local pkg dir tmp m
    pkg=$(cat "$pkgfile")
    dir="$WORK/modules/${pkg%%:*}"
    if [ ! -s "$dir/load-order" ]; then
        tmp=$(mktemp -d)
        if (cd "$tmp" && retry apt-get download -qq "$pkg") >/dev/null 2>&1; then
            mkdir -p "$tmp/x"
            # shellcheck disable=SC2046 # one pattern per module
            dpkg-deb --fsys-tarfile "$tmp"/*.deb |
                tar -x -C "$tmp/x" --wildcards --no-anchored $(for m in $GUEST_MODULES; do echo "*/$m.ko"; done) 2>/dev/null || true
            mkdir -p "$dir"
            : >"$tmp/order"
            for m in $GUEST_MODULES; do
                local f
                f=$(find "$tmp/x" -name "$m.ko" | head -1)
                if [ -n "$f" ]; then
                    cp "$f" "$dir/$m.ko"
                    echo "$m" >>"$tmp/order"
                fi
            done
            mv "$tmp/order" "$dir/load-order"
            log "guest kernel modules ($(tr '\n' ' ' <"$dir/load-order")) from $pkg in $dir"
        else
            log "cannot download $pkg: no guest kernel modules (the netlink tests skip themselves)"
        fi
        rm -rf "$tmp"
    fi
    if [ -s "$dir/load-order" ]; then
        ln -sfn "$dir" "$link"
    else
        rm -f "$link"
    fi
}

# Runs at once (CI's x86-64 and i386 subsets, in parallel test threads)
# share the cache: the fetch (its apt lists and sources.list.new) is done
# under a lock, and so is each architecture's build.
mkdir -p "$WORK"
exec 9>"$WORK/.fetch.lock"
flock 9
fetch_source
flock -u 9
log "strace source $VERSION in $SRC"
if [ "$fetch_only" = 1 ]; then
    printf 'SRC=%s\nVERSION=%s\n' "$SRC" "$VERSION"
    exit 0
fi
exec 8>"$WORK/.build-$arch.lock"
flock 8
build_tests
fetch_modules
flock -u 8
log "test programs in $BUILD/tests"
if [ "$build_only" = 1 ]; then
    printf 'SRC=%s\nBUILD=%s\nVERSION=%s\n' "$SRC" "$BUILD" "$VERSION"
    exit 0
fi

# --- 3. run and compare ---------------------------------------------------

# cargo's warnings go to a log; shown only if the build fails.
cargo_build() {
    nice -n 10 cargo build --release "$@" >"$WORK/cargo.log" 2>&1 || {
        cat "$WORK/cargo.log" >&2
        exit 1
    }
}
# Always (a no-op when up to date): the plugin decodes and records live,
# so a stale plugin would show the old decoders in every replay.
cargo_build -p vstrace-cli -p vstrace-plugin
cargo_build -p vstrace-cli --example strace_conformance
# The i386 kernel's fd names, pid namespaces and module map come from its
# debug info: the profile is made once (a no-op when cached).
if [ "$arch" = i386 ]; then
    VSTRACE_BIN="$ROOT/target/release/vstrace" bash "$ROOT/scripts/i386-profile.sh"
fi
out="$ROOT/target/conformance"
[ "$arch" = x86_64 ] || out="$ROOT/target/conformance-$arch"
nice -n 10 target/release/examples/strace_conformance \
    --src "$SRC" --build "$BUILD" --version "$VERSION" --arch "$arch" \
    --vstrace "$ROOT/target/release/vstrace" \
    --families "$ROOT/scripts/strace-conformance-families.txt" \
    --out "$out" "$@"
if [ "$update_passing" = 1 ] && [ "$arch" = x86_64 ]; then
    cp target/conformance/passing.txt crates/cli/tests/data/strace-conformance-passing.txt
    log "updated crates/cli/tests/data/strace-conformance-passing.txt"
fi
