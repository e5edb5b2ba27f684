#!/usr/bin/env bash
# The main job on a fresh machine: install what is needed (software WebGPU adapter, npm packages),
# build, and train the embedded default: a small InceptionV3 + BAM on the FracAtlas sample bundled in
# data/fracatlas-sample, writing runs/sample-inceptionv3/ (checkpoints, log, report.md).
# Extra arguments go to `ossify train` (e.g. --data ../shared/fracatlas --image-size 96 --width 0.25).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run build --silent
exec node dist/cli.js train "$@"
