#!/usr/bin/env bash
# Prepares a run on a lent GPU machine (see ../shared/gpu/README.md): builds the library and the
# benchmark, stages them without source maps or the browser bundles in .gpu-dist/, copies the
# 299-px FracAtlas into .gpu-data/, and packs Node, Dawn and the benchmark's peers (TensorFlow.js
# WebGPU + layers, jax-js) into .gpu/. All three are ignored and travel with `carry`:
#   device tool: carry [".gpu", ".gpu-dist", ".gpu-data"], command: bash scripts/gpu-run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
npx tsup --config bench/tsup.bench.config.ts --silent
rm -rf .gpu-dist && mkdir -p .gpu-dist
# Source maps and the page bundles are 14 of dist's 16 MiB; the transfer limit is 64 MiB.
(cd dist && find . -type f ! -name '*.map' ! -path './bench/www/*' -exec cp --parents {} ../.gpu-dist/ \;)
src=${FRACATLAS_299:-../shared/fracatlas-299}
[ -d "$src" ] || { echo "no $src: set FRACATLAS_299 to the 299-px FracAtlas copy" >&2; exit 1; }
rm -rf .gpu-data && mkdir -p .gpu-data && cp -r "$src" .gpu-data/fracatlas
for p in /.gpu-data/ /.gpu-dist/; do grep -qxF "$p" .git/info/exclude 2>/dev/null || echo "$p" >> .git/info/exclude; done
GPU_DEPS=${GPU_DEPS:-"webgpu @tensorflow/tfjs-core @tensorflow/tfjs-backend-webgpu @tensorflow/tfjs-layers @jax-js/jax"} \
  bash ../shared/gpu/pack.sh . .gpu-dist .gpu-data
