#!/usr/bin/env bash
# Prepares a run on a lent GPU machine (see ../shared/gpu/README.md): builds the library and the
# benchmark with its TensorFlow.js WebGPU and jax-js peers bundled in (dist/bench/node-gpu.js),
# stages them without source maps or the browser bundles in .gpu-dist/, copies the 299-px FracAtlas
# into .gpu-data/, and packs Node, Dawn and the production dependencies into .gpu/. All three are
# ignored and travel with `carry`:
#   device tool: carry [".gpu", ".gpu-dist", ".gpu-data"], command: bash scripts/gpu-run.sh
# For a sweep (gpu-run.sh's grid mode), carry the sweep folder too, which holds what earlier calls
# brought back (results, no checkpoints):
#   carry [".gpu", ".gpu-dist", ".gpu-data", ".gpu-sweep"], command: MINUTES=9 bash scripts/gpu-run.sh grid
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
OSSIFY_BENCH_GPU=1 npx tsup --config bench/tsup.bench.config.ts --silent
rm -rf .gpu-dist && mkdir -p .gpu-dist
# Source maps and the page bundles are 14 of dist's 16 MiB; the transfer limit is 64 MiB. Of the
# bench, only the (minified) bundle with the peers in it goes; no type declarations.
(cd dist && find . -type f ! -name '*.map' ! -name '*.d.ts' ! -path './bench/*' -exec cp --parents {} ../.gpu-dist/ \;)
mkdir -p .gpu-dist/bench && cp dist/bench/node-gpu.js .gpu-dist/bench/
src=${FRACATLAS_299:-../shared/fracatlas-299}
[ -d "$src" ] || { echo "no $src: set FRACATLAS_299 to the 299-px FracAtlas copy" >&2; exit 1; }
rm -rf .gpu-data && mkdir -p .gpu-data && cp -r "$src" .gpu-data/fracatlas
for p in /.gpu-data/ /.gpu-dist/ /.gpu-sweep/; do
  grep -qxF "$p" .git/info/exclude 2>/dev/null || echo "$p" >> .git/info/exclude
done
# Node (21 MiB), the production node_modules (13 MiB: Dawn, sharp's libvips, h5wasm) and the images
# (24 MiB) leave little room: pack.sh's default margin of 4 MiB under the tool's 64 MiB is cut to 1.
sweep=(); [ -d .gpu-sweep ] && sweep=(.gpu-sweep)
GPU_LIMIT_MIB=${GPU_LIMIT_MIB:-63} bash ../shared/gpu/pack.sh . .gpu-dist .gpu-data "${sweep[@]}"
