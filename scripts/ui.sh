#!/usr/bin/env bash
# Builds the desktop UI into ui/dist and the organiser's console into ui/dist-console (installing
# their npm packages when they changed).
# Usage: ui.sh [build|test]
set -euo pipefail
cd "$(dirname "$0")/../ui"
if ! command -v node >/dev/null 2>&1; then
  echo "Node.js >= 20.19 and npm are needed to build the UI; install them (e.g. from nodejs.org or NodeSource), then run this again." >&2
  exit 1
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' || {
  echo "Node.js $(node --version) is too old: the UI's build tools (Vite 8) need Node.js >= 20.19." >&2
  exit 1
}
stamp=node_modules/.tinjau-lock-hash
hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$hash" > "$stamp"
fi
# What the build reads: when none of it changed since the last build, the build is skipped.
sources_hash() {
  find src console index.html package-lock.json tsconfig.json vite.config.ts vite.console.config.ts \
    -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
built=node_modules/.tinjau-built-hash
case "${1:-build}" in
  # Type-check first: the command layer and bindings are generated from Rust, so a renamed
  # command or argument, or a changed type, stops the build here.
  build)
    hash=$(sources_hash)
    if [ -f dist/index.html ] && [ -f dist-console/index.html ] && [ -f "$built" ] && [ "$(cat "$built")" = "$hash" ]; then
      echo "The UI is up to date." >&2
      exit 0
    fi
    npx svelte-check --tsconfig ./tsconfig.json --output human --threshold error \
      && npx vite build --logLevel warn \
      && npx vite build --config vite.console.config.ts --logLevel warn \
      && echo "$hash" > "$built" ;;
  test) npx vitest run ;;
  *) echo "unknown step: $1" >&2; exit 2 ;;
esac
