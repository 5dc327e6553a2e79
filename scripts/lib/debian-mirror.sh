# Shared by the setup and image scripts (sourced, not run): the Debian
# mirror the host's own apt configuration names. Callers may set
# VSTRACE_DEBIAN_MIRROR to override it, and VSTRACE_APT_ETC to read
# another /etc/apt (tests).

# The Debian mirror the host's apt uses for bookworm: the first enabled
# `deb` entry for the suite `bookworm`, from one-line `.list` files
# (`deb [options] URI SUITE COMPONENTS...`) or deb822 `.sources` files
# (`Types:`, `URIs:`, `Suites:`, `Enabled:` stanzas).
host_debian_mirror() {
    if [ -n "${VSTRACE_DEBIAN_MIRROR:-}" ]; then
        echo "$VSTRACE_DEBIAN_MIRROR"
        return
    fi
    local f etc="${VSTRACE_APT_ETC:-/etc/apt}"
    for f in "$etc/sources.list" "$etc"/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        awk '
            { sub(/#.*/, "") }
            $1 != "deb" { next }
            {
                i = 2
                # Options in brackets may contain spaces: skip to the "]".
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == "bookworm") { print $i; exit }
            }' "$f"
    done
    for f in "$etc"/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk '
            function flush() {
                if (!done && types ~ /(^| )deb( |$)/ && enabled !~ /^[Nn]o/ &&
                    (" " suites " ") ~ / bookworm /) { split(uris, u, " "); print u[1]; done = 1; exit }
                types = ""; uris = ""; suites = ""; enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            {
                key = tolower($1); $1 = ""; sub(/^[ \t]+/, "")
                if (key == "types:") types = $0
                else if (key == "uris:") uris = $0
                else if (key == "suites:") suites = $0
                else if (key == "enabled:") enabled = $0
            }
            END { flush() }' "$f"
    done
}

debian_mirror() {
    local m
    # The first line, without a pipe: `head -1` closing it early would
    # end host_debian_mirror by SIGPIPE, which pipefail (the callers'
    # `set -euo pipefail`) turns into the script's failure.
    m=$(host_debian_mirror)
    m=${m%%$'\n'*}
    if [ -z "$m" ]; then
        echo "vstrace: no Debian bookworm mirror in /etc/apt (sources.list, sources.list.d/*.list or *.sources); set VSTRACE_DEBIAN_MIRROR=URI" >&2
        exit 1
    fi
    echo "${m%/}"
}

