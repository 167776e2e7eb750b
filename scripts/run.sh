#!/usr/bin/env bash
# Runs Tinjau on this machine: installs what a fresh Debian/Ubuntu machine lacks, builds, runs.
# Arguments are passed to the `tinjau` program; with none, it prints what to do next.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh build
cargo build --release --quiet -p tinjau-cli
if [ $# -eq 0 ]; then
  exec target/release/tinjau --help
fi
exec target/release/tinjau "$@"
