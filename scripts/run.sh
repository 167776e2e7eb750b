#!/usr/bin/env bash
# Runs the Tinjau desktop app: installs what a fresh Debian/Ubuntu machine lacks, builds the UI
# and the app (release), and starts it. Data goes to ~/.local/share/tinjau (or TINJAU_DATA_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh app
scripts/ui.sh build
cargo build --release --quiet -p tinjau-desktop -p tinjau-cli -p tinjau-server
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "No display: run this from a desktop session (or under xvfb-run to try it headless)." >&2
  exit 1
fi
exec target/release/tinjau-desktop "$@"
