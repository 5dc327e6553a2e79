#!/usr/bin/env bash
# The main job: install what is missing, build, boot the embedded default
# guest under QEMU TCG with the vstrace plugin, and trace a command.
#   scripts/run.sh                 # trace the built-in workload
#   scripts/run.sh -- ls /         # trace `ls /` in the guest
#   scripts/run.sh -e trace=%file -- cat /etc/passwd
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
cargo build --release --quiet --workspace
exec target/release/vstrace run "$@"
