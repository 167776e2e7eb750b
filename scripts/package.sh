#!/usr/bin/env bash
# Builds the Debian packages: the desktop app's (with the icon from assets/) under
# target/release/bundle/deb/, and tinjau-server's under target/debian/. AppImage bundling downloads
# tools from the internet, so only .deb packages are built here.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh app
scripts/ui.sh build
ui/node_modules/.bin/tauri build --bundles deb
# The server's Debian package (systemd unit, its own user, /var/lib/tinjau, /etc/tinjau).
scripts/server-deb.sh
