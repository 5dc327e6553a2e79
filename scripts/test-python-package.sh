#!/usr/bin/env bash
# The Python package (python/, item 5 of the hooks issue): builds it with
# maturin into a virtualenv of the distribution's Python, records the
# NT-ABI guest with the vstrace binary, and checks in Python that
# `vstrace.replay(rec, hooks=seed)` gives the records of the live run
# with the seed hook's data, and `vstrace.read_json` reads the trace.
# Needs network access once (pip installs maturin into the virtualenv).
#   scripts/test-python-package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
venv=$(realpath -m "${VSTRACE_VENV:-target/python-venv}")
[ -x "$venv/bin/python3" ] || /usr/bin/python3 -m venv "$venv"
[ -x "$venv/bin/maturin" ] || "$venv/bin/pip" install -q maturin
(cd python && CARGO_TARGET_DIR="$PWD/../target/python-pkg" \
    "$venv/bin/maturin" build --release -q -i "$venv/bin/python3" -o "$work/wheels")
"$venv/bin/pip" install -q --force-reinstall "$work"/wheels/vstrace-*.whl
cargo build --release -q -p vstrace-cli -p vstrace-plugin
sh guests/nt-abi/build.sh "$work/nt" >/dev/null
target/release/vstrace run --os windows --windows-version win10-22h2 \
    --kernel "$work/nt/nt-abi-x64.bin" --timeout 60 --json -o "$work/live.json" \
    --hooks examples/python/seed_hooks.py --record "$work/x.rec" >/dev/null
"$venv/bin/python3" - "$work" <<'PY'
import sys, vstrace
work = sys.argv[1]
live = vstrace.read_json(f"{work}/live.json")
calls = vstrace.replay(f"{work}/x.rec", hooks="examples/python/seed_hooks.py")
assert calls == live, "replay differs from the live run"
hooked = [(c["name"], c["hook"]["object_name"]) for c in calls if "hook" in c]
assert hooked == [("NtOpenFile", r"\??\C:\vstrace\missing.txt"),
                  ("NtOpenFile", r"\??\C:\vstrace\hello.txt"),
                  ("NtCreateFile", r"\??\C:\vstrace\log.txt")], hooked
bare = vstrace.replay(f"{work}/x.rec")
assert [c for c in bare if "hook" in c] == [] and len(bare) == len(live)
from vstrace import ObjectAttributes, FileAccessMask, ReadOnlyError
assert FileAccessMask(0x120089).rights == ["FILE_GENERIC_READ"]
print(f"python package: {len(calls)} records replayed, {len(hooked)} with the seed hook's data: ok")
PY
