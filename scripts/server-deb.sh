#!/usr/bin/env bash
# Builds the Debian package of tinjau-server: the binary, a systemd unit (its own user, data in
# /var/lib/tinjau), settings in /etc/tinjau/server.env, docs/operations.md.
# Usage: server-deb.sh [BINARY] [OUT_DIR]   (default: a release build, into target/debian/)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
binary="${1:-}"
out="${2:-$target/debian}"
if [ -z "$binary" ]; then
  echo "Building tinjau-server (release; the first build takes several minutes)..." >&2
  (cd "$root" && cargo build --release --locked -p tinjau-server)
  binary="$target/release/tinjau-server"
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -D -m 0755 "$binary" "$stage/usr/bin/tinjau-server"
install -D -m 0644 "$root/packaging/tinjau-server/tinjau-server.service" "$stage/lib/systemd/system/tinjau-server.service"
install -D -m 0640 "$root/packaging/tinjau-server/server.env" "$stage/etc/tinjau/server.env"
install -D -m 0644 "$root/docs/operations.md" "$stage/usr/share/doc/tinjau-server/operations.md"
install -D -m 0755 "$root/packaging/tinjau-server/postinst" "$stage/DEBIAN/postinst"
install -D -m 0755 "$root/packaging/tinjau-server/prerm" "$stage/DEBIAN/prerm"
echo "/etc/tinjau/server.env" > "$stage/DEBIAN/conffiles"
size=$(du -sk "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: tinjau-server
Version: $version
Architecture: $arch
Maintainer: Tinjau <tinjau@localhost>
Installed-Size: $size
Depends: adduser, libc6
Section: net
Priority: optional
Description: Tinjau central server
 Sync for jurors' laptops, the organiser's console and the official documents of a
 competition's field visits, on SQLite or PostgreSQL.
CONTROL
mkdir -p "$out"
deb="$out/tinjau-server_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zgzip -z6 --build "$stage" "$deb" >/dev/null
echo "$deb"
