#!/usr/bin/env bash
# Installs Leaflet, pinned by package.json and package-lock.json beside this script, from the npm registry into
# pb/static/vendor/node_modules (git-ignored). Only cities that set PB_MAP_TILE_URL need it: without it, or without
# this folder, pb's maps are SVG drawn on the server. Does nothing when the pinned version is already there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(node -p "require('$here/package-lock.json').packages['node_modules/leaflet'].version")"
if [ -f "$here/node_modules/leaflet/dist/leaflet.js" ] && \
   grep -q "\"version\": \"$version\"" "$here/node_modules/leaflet/package.json" 2>/dev/null; then
  exit 0
fi
(cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --omit=dev >/dev/null)
echo "leaflet $version is in $here/node_modules"
