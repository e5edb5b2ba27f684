#!/usr/bin/env bash
# Runs on the GPU machine (after scripts/gpu-prepare.sh here): adapter smoke test, the benchmark
# suite at full size, and the reference training configuration (InceptionV3 + 3 BAM, 299x299,
# batch 32) for as long as MINUTES allows, keeping the best checkpoint. Results go to $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/out}
MINUTES=${MINUTES:-7}
EPOCHS=${EPOCHS:-100}
mkdir -p "$OUT"
bash .gpu/run.sh node .gpu/smoke.mjs 2>&1 | tee "$OUT/smoke.txt"
bash .gpu/run.sh nvidia-smi --query-gpu=name,memory.total --format=csv 2>&1 | tee -a "$OUT/smoke.txt"
# The reference configuration; --max-minutes stops after the epoch that crosses the limit.
timeout $((MINUTES * 60 + 60)) bash .gpu/run.sh node dist/cli.js train --data .gpu-data/fracatlas --model inceptionv3 \
  --image-size 299 --batch-size 32 --epochs "$EPOCHS" --lr 1e-3 --max-minutes "$MINUTES" --out "$OUT/run" 2>&1 | tee "$OUT/train.txt"
tar -czf "$OUT/run.tgz" -C "$OUT" run/best.safetensors run/log.jsonl run/metrics.json run/report.md 2>/dev/null || true
rm -rf "$OUT/run"
