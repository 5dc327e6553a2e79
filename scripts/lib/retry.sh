# Shared by the fetching scripts (sourced, not run): `retry CMD ARGS...`
# runs a command that reaches a package mirror again when it fails. A
# mirror in the middle of a sync serves an index whose size does not match
# its Release file ("File has unexpected size ... Mirror sync in
# progress?"), and a proxy may drop a connection; both pass within
# minutes, and a fresh machine's whole setup should not fail on them.
# VSTRACE_FETCH_TRIES (default 5) bounds the tries; the waits between them
# grow from VSTRACE_FETCH_WAIT seconds (default 15: 15, 30, 60, 120 s...).
# The command's last status is returned.
retry() {
    local _tries="${VSTRACE_FETCH_TRIES:-5}" _n=1 _wait="${VSTRACE_FETCH_WAIT:-15}" _rc
    while :; do
        _rc=0
        "$@" || _rc=$?
        [ "$_rc" -ne 0 ] || return 0
        if [ "$_n" -ge "$_tries" ]; then
            echo "vstrace: '$*' failed $_n times (status $_rc); giving up" >&2
            return "$_rc"
        fi
        echo "vstrace: '$*' failed (status $_rc), try $((_n + 1)) of $_tries in ${_wait}s" >&2
        sleep "$_wait"
        _n=$((_n + 1))
        _wait=$((_wait * 2))
    done
}

# `retry_lists CMD ARGS...`: an `apt-get update` tried 3 times (or
# VSTRACE_FETCH_TRIES), then, if it still fails, a warning and success: an
# index the mirror keeps failing (a stale proxy serving a bad one) leaves
# the others updated, and a package that needs it fails to resolve later,
# by its name.
retry_lists() {
    VSTRACE_FETCH_TRIES=${VSTRACE_FETCH_TRIES:-3} retry "$@" ||
        echo "vstrace: warning: '$*' failed; going on with the package lists it got" >&2
}
