#!/usr/bin/env bash
# Prepares a run on a lent GPU machine (see ../shared/gpu/README.md): builds dist/, copies the
# 299-px FracAtlas into .gpu-data/ (ignored, carried), and packs Node + Dawn into .gpu/.
# Then call the device tool with carry [".gpu", "dist", ".gpu-data"] and the command
#   bash scripts/gpu-run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
src=${FRACATLAS_299:-../shared/fracatlas-299}
[ -d "$src" ] || { echo "no $src: set FRACATLAS_299 to the 299-px FracAtlas copy" >&2; exit 1; }
rm -rf .gpu-data && mkdir -p .gpu-data && cp -r "$src" .gpu-data/fracatlas
grep -qxF '/.gpu-data/' .git/info/exclude 2>/dev/null || echo '/.gpu-data/' >> .git/info/exclude
bash ../shared/gpu/pack.sh . dist .gpu-data
