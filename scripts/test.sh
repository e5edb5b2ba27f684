#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds, type-checks everything tsup
# does not (tests and benchmarks), then runs the whole suite on
# the default adapter (lavapipe where installed), and the kernel and autograd tests again on
# SwiftShader, so that a kernel variant wrong on either software adapter fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run build --silent
echo "== type check (src, test, bench) =="
npx tsc --noEmit -p .
export OSSIFY_QUIET=1
echo "== full suite (default adapter) =="
npx vitest run "$@"
if [ -f /usr/lib/chromium/vk_swiftshader_icd.json ] && [ $# -eq 0 ] && [ "${OSSIFY_ADAPTER:-}" != "swiftshader" ]; then
  echo "== kernel and autograd tests on SwiftShader =="
  # Positional arguments are file-name filters.
  OSSIFY_ADAPTER=swiftshader npx vitest run elementwise reduce runtime optim conv2d pad batchnorm pool concat bam dropout loss fusion fuzz
fi
