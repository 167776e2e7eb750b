#!/usr/bin/env bash
# Runs the Tinjau desktop app: installs what a fresh Debian/Ubuntu machine lacks, builds the UI
# and the app (release), and starts it. Data goes to ~/.local/share/tinjau (or TINJAU_DATA_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
if ! command -v cargo >/dev/null 2>&1; then
  echo "Rust is needed to build Tinjau: install it from https://rustup.rs (rustup), then run this again." >&2
  exit 1
fi
if [ ! -x "$target/release/tinjau-desktop" ]; then
  cat >&2 <<'SAY'
First run: Tinjau is built from source once. This takes about 20 minutes on a 2-core laptop
(less with more cores); cargo shows its progress below. Later runs start in a few seconds.
SAY
fi
echo "[1/3] System packages (the webview and a C compiler)..." >&2
scripts/system-deps.sh app
echo "[2/3] The user interface..." >&2
scripts/ui.sh build
echo "[3/3] The app, the command-line tool and the server (release build)..." >&2
cargo build --release -p tinjau-desktop -p tinjau-cli -p tinjau-server
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "No display: run this from a desktop session (or under xvfb-run to try it headless)." >&2
  exit 1
fi
exec "$target/release/tinjau-desktop" "$@"
