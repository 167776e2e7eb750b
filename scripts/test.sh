#!/usr/bin/env bash
# Runs every check and test of the workspace, installing missing system packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh test
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# --all-targets also runs each benchmark once in its quick smoke mode.
cargo test --workspace --all-targets --locked
