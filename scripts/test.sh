#!/usr/bin/env bash
# Runs every check and test: formatting, lints, the UI's unit tests, and the whole workspace
# (unit, integration, sync against SQLite and PostgreSQL, the desktop app end to end in a real
# webview, and each benchmark once in smoke mode). Installs missing system packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh test
# The sync tests run on SQLite and on this PostgreSQL; without one they would skip it loudly.
if [ -z "${TINJAU_TEST_POSTGRES_URL:-}" ]; then
  TINJAU_TEST_POSTGRES_URL=$(scripts/postgres.sh)
  export TINJAU_TEST_POSTGRES_URL
fi
# The desktop end-to-end tests drive the app through tauri-driver.
command -v tauri-driver >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/tauri-driver" ] \
  || cargo install tauri-driver --version ^2 --locked --quiet
scripts/ui.sh build
scripts/ui.sh test
# axe-core, which the desktop end-to-end tests inject into the webview to check every screen.
(
  cd tests/desktop
  stamp=node_modules/.tinjau-lock-hash
  hash=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    echo "$hash" > "$stamp"
  fi
)
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The end-to-end tests run the real binaries; cargo builds a package's binary for tests only
# when that package's own tests need it, so build them all first.
cargo build --workspace --bins --locked
cargo test --workspace --all-targets --locked
