#!/usr/bin/env bash
# Bundle regl-scatterplot (npm, pinned in package-lock.json) into one minified browser script,
# tools/explorer_bundle/dist/regl-scatterplot.js, exposing window.reglScatterplot =
# {createScatterplot, createRenderer}. The explorer does not use it (in software WebGL it missed
# the frame bars; docs/explorer.md): bench/bench_explorer.py measures it as the library baseline.
# Idempotent: with nothing changed a second run only compares timestamps and exits.
set -euo pipefail
cd "$(dirname "$0")"
out=dist/regl-scatterplot.js
installed=node_modules/.package-lock.json   # written by npm ci
if [ ! -f "$installed" ] || [ package-lock.json -nt "$installed" ]; then
  npm ci --no-audit --no-fund
fi
if [ -f "$out" ] && [ "$out" -nt "$installed" ] && [ "$out" -nt build.sh ]; then
  exit 0
fi
mkdir -p "$(dirname "$out")"
./node_modules/.bin/esbuild --bundle --minify --format=iife --target=es2020 --legal-comments=eof \
  --log-level=warning --sourcefile=entry.js --outfile="$out.tmp" <<'JS'
import createScatterplot, { createRenderer } from "regl-scatterplot";
window.reglScatterplot = { createScatterplot, createRenderer };
JS
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -c < "$out") bytes)"
