#!/usr/bin/env bash
# Runs every check and test of the workspace, installing missing system packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh test
# The sync tests run on SQLite and on this PostgreSQL; without one they would skip it loudly.
if [ -z "${TINJAU_TEST_POSTGRES_URL:-}" ]; then
  TINJAU_TEST_POSTGRES_URL=$(scripts/postgres.sh)
  export TINJAU_TEST_POSTGRES_URL
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# --all-targets also runs each benchmark once in its quick smoke mode.
cargo test --workspace --all-targets --locked
