#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages a purpose needs, only those missing (a warm run costs
# nothing). Usage: system-deps.sh build|app|test
set -euo pipefail
build=(build-essential pkg-config)
# The desktop app's webview (WebKitGTK) and what Tauri links against.
app=(libwebkit2gtk-4.1-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev
     libjavascriptcoregtk-4.1-dev)
# Tests: PDFs read back (poppler), the sync tests' PostgreSQL, and the app driven in a real
# webview on a virtual display (xauth is needed by xvfb but only recommended by it); the
# organiser's console in a real browser (chromium and its WebDriver); systemd-analyze checks the
# server's service unit.
tests=(poppler-utils postgresql xvfb xauth webkit2gtk-driver chromium chromium-driver systemd)
case "${1:-build}" in
  build) packages=("${build[@]}") ;;
  app) packages=("${build[@]}" "${app[@]}") ;;
  test) packages=("${build[@]}" "${app[@]}" "${tests[@]}") ;;
  *) echo "unknown purpose: $1 (build, app or test)" >&2; exit 2 ;;
esac
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing missing system packages: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
