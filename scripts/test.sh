#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds, type-checks everything tsup
# does not (tests and benchmarks), checks the formatting (Prettier), the lint rules (ESLint) and that
# no line of code or WGSL is over 120 characters, then runs the whole suite on the default adapter
# (lavapipe where installed), and the kernel and autograd tests again on SwiftShader (vitest.config.ts),
# so that a kernel variant wrong on either software adapter fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run build --silent
echo "== public API report (api/*.api.md) =="
node scripts/api.mjs --check
echo "== type check (src, test, bench) =="
npx tsc --noEmit -p .
echo "== format (Prettier), lint (ESLint), line length =="
npx prettier --check --log-level warn . || { echo "Formatting differs from Prettier's: run \`npm run format\` and commit."; exit 1; }
npx eslint || { echo "ESLint found problems: \`npm run lint:fix\` fixes some; fix the rest by hand."; exit 1; }
node scripts/check-lines.mjs
export OSSIFY_QUIET=1
# The driver's shader cache of this checkout (lavapipe): a fresh clone compiles every kernel once (the
# lavapipe stage takes about 7 minutes instead of 3 on 2 cores), later runs reuse it, and the suite
# neither depends on nor grows the user's own cache, whatever its state.
export MESA_SHADER_CACHE_DIR="${MESA_SHADER_CACHE_DIR:-$PWD/.cache/mesa-shaders}"
# One vitest project per software adapter (vitest.config.ts): every file on the default adapter, then
# the files marked `// @adapters all` on SwiftShader. Positional arguments are file-name filters.
echo "== test suite (default adapter, then SwiftShader) =="
npx vitest run "$@"
