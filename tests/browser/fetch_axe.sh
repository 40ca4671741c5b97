#!/usr/bin/env bash
# Puts axe-core (pinned below) into tests/.cache/axe-core from the npm registry with `npm pack`; does nothing when it is
# already there. The browser tests inject its axe.min.js into every page they visit; no CDN is ever used at run time.
set -euo pipefail
AXE_VERSION=4.10.3
cache="$(cd "$(dirname "$0")/.." && pwd)/.cache"
target="$cache/axe-core"
if [ -f "$target/axe.min.js" ] && grep -q "\"version\": \"$AXE_VERSION\"" "$target/package.json" 2>/dev/null; then
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null && tar -xzf "axe-core-$AXE_VERSION.tgz")
mkdir -p "$target"
cp "$work/package/axe.min.js" "$work/package/package.json" "$work/package/LICENSE" "$target/"
echo "axe-core $AXE_VERSION is in $target"
