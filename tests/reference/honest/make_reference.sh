#!/bin/sh
# Reference values for honest_did from R HonestDiD's own README (asheshrambachan/HonestDiD,
# commit 6813f02ed38f0b63bdca6915604b2eac90491303, fetched 2026-12-06). R HonestDiD itself was
# not built (it needs CVXR, not in Debian). Rerun: sh make_reference.sh /path/to/HonestDiD/git-dir
set -e
REPO=${1:-/work/.mirror/asheshrambachan+HonestDiD/repo}
OUT=$(pwd)
TMP=$(mktemp -d)
cd "$REPO"
# 1. The printed DeltaSD table of the "Regressions with controls" example (README lines 343-350).
git show HEAD:README.md | sed -n 343,350p > "$OUT/readme_controls_sd_printed.txt"
# 2. Its betahat and sigma (full precision) from the README's knitr cache (chunk 8).
for f in $(git ls-tree -r --name-only HEAD | grep README_cache); do mkdir -p "$TMP/$(dirname $f)"; git show HEAD:$f > "$TMP/$f"; done
cd "$TMP/README_cache/gfm"
Rscript "$OUT/export_cache.R" "$OUT"
