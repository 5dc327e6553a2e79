#!/usr/bin/env bash
# The whole test suite: host setup, format and lint checks, unit tests and
# the integration tests that boot real guests under QEMU TCG.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
cargo fmt --all -- --check
cargo build --release --workspace --all-targets
cargo clippy --release --workspace --all-targets -- -D warnings
cargo test --release --workspace -- --test-threads="${VSTRACE_TEST_THREADS:-2}"
