#!/usr/bin/env bash
# Runs on the GPU machine (after scripts/gpu-prepare.sh here), as one device call that ends inside
# the tool's 10-minute limit (about 9 minutes with the defaults):
#   1. the adapter smoke test and nvidia-smi;
#   2. the benchmark suite against TensorFlow.js WebGPU and jax-js on the same GPU: the kernel table
#      at batch 2 and 32, then the whole models (full size at batch 32 first, then the reduced sizes);
#   3. the reference training configuration (InceptionV3 + 3 BAM, 299x299, batch 32, Adam 1e-3) for
#      MINUTES, keeping the best checkpoint.
# Each stage has its own time limit, so a slow stage cannot starve the next, and one cut short
# still leaves its rows in its log. Seven files come back (the device tool returns at most eight):
# the bench's Markdown tables are printed into its .txt logs; the training run is packed in run.tgz.
#
# Grid mode, `MINUTES=9 GRID=seed-table bash scripts/gpu-run.sh grid`: the adapter smoke test, then
# `ossify sweep --grid GRID` into .gpu-sweep/ with a time budget of MINUTES minutes (default 9): no
# epoch starts that would end past the budget, and a run the budget cuts short is tested with the
# epochs it had (--cap-epochs; the report says how many of how many), because its checkpoints do not
# come back to resume from. Two files come back: sweep.txt (the log) and sweep.tgz (every run's
# log.jsonl, metrics, predictions.csv and result.json, and the sweep's report; no checkpoints). Here,
# unpack it over the sweep folder (tar -xzf sweep.tgz) and carry .gpu-sweep again on the next call:
# finished runs are skipped, so successive calls fill the grid; `ossify sweep report .gpu-sweep`
# renders what there is. The machine has no test split of FracAtlas (the 299-px copy holds train and
# validation), so runs are tested on the validation split, as the report says. WEIGHTS=DIR passes a
# folder of ImageNet weights files that travelled (--weights-dir); without it the ImageNet rows are
# skipped, naming the file each needs.
set -uo pipefail
OUT=${OUT:-/tmp/out}
if [ "${1:-}" = grid ]; then
  MINUTES=${MINUTES:-9}
  GRID=${GRID:-seed-table}
  SWEEP=${SWEEP:-.gpu-sweep}
  mkdir -p "$OUT"
  bash .gpu/run.sh node .gpu/smoke.mjs 2>&1 | tee "$OUT/smoke.txt"
  weights=()
  [ -n "${WEIGHTS:-}" ] && weights=(--weights-dir "$WEIGHTS")
  # The sweep keeps to its budget by itself; the timeout only ends a hung process so that the
  # finished runs still come back.
  timeout $((MINUTES * 60 + 20)) bash .gpu/run.sh node .gpu-dist/cli.js sweep --grid "$GRID" \
    --data .gpu-data/fracatlas --out "$SWEEP" --max-minutes "$MINUTES" --cap-epochs "${weights[@]}" 2>&1 |
    tee "$OUT/sweep.txt"
  tar -czf "$OUT/sweep.tgz" --exclude='*.safetensors' --exclude='.*.tmp' "$SWEEP"
  exit 0
fi
KERNEL_SECONDS=${KERNEL_SECONDS:-60}
MODEL_SECONDS=${MODEL_SECONDS:-150}
MINUTES=${MINUTES:-4}
EPOCHS=${EPOCHS:-100}
mkdir -p "$OUT"
bash .gpu/run.sh node .gpu/smoke.mjs 2>&1 | tee "$OUT/smoke.txt"
bash .gpu/run.sh nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv 2>&1 | tee -a "$OUT/smoke.txt"
bench() {  # bench NAME SECONDS ARGS...
  local name=$1 secs=$2; shift 2
  timeout "$secs" bash .gpu/run.sh node .gpu-dist/bench/node-gpu.js --engines ossify,tfjs-webgpu,jax-webgpu \
    --samples 3 --out /tmp/bench-tables --json "$OUT/$name.json" "$@" 2>&1 | tee "$OUT/$name.txt"
}
bench bench-kernels "$KERNEL_SECONDS" --filter matmul,conv,batchnorm,maxpool
bench bench-models "$MODEL_SECONDS" --filter inceptionv3-299,densenet121-224,inceptionv3-75,densenet121-64
# --max-minutes stops after the epoch that crosses the limit; the best checkpoint is evaluated.
timeout $((MINUTES * 60 + 90)) bash .gpu/run.sh node .gpu-dist/cli.js train --data .gpu-data/fracatlas --model inceptionv3 \
  --image-size 299 --batch-size 32 --epochs "$EPOCHS" --lr 1e-3 --max-minutes "$MINUTES" --out "$OUT/run" 2>&1 | tee "$OUT/train.txt"
tar -czf "$OUT/run.tgz" -C "$OUT" run/best.safetensors run/log.jsonl run/metrics.json run/report.md 2>/dev/null || true
rm -rf "$OUT/run"
