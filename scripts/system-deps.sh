#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages a purpose needs, only those missing (a warm run costs
# nothing). Usage: system-deps.sh build|test
set -euo pipefail
case "${1:-build}" in
  build) packages=(build-essential pkg-config) ;;
  # pdftotext and pdftoppm read the generated PDFs back in tests; the sync tests run against a
  # real PostgreSQL.
  test) packages=(build-essential pkg-config poppler-utils postgresql) ;;
  *) echo "unknown purpose: $1" >&2; exit 2 ;;
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
