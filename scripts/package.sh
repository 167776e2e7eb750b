#!/usr/bin/env bash
# Builds the desktop app's Debian package (with the icon from assets/) under
# target/release/bundle/deb/. AppImage bundling downloads tools from the internet, so only the
# .deb is built here.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh app
scripts/ui.sh build
ui/node_modules/.bin/tauri build --bundles deb
