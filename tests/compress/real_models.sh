#!/usr/bin/env bash
# Quantizes real models (fetched by scripts/fetch_models.sh) in every mode and checks that
#  1. Tern loads and runs the result, with output SQNR against the float model above a floor
#     (measured on perturbed inputs that were not used for calibration), and
#  2. ONNX Runtime (scripts/setup_ort.sh) loads and runs the same file, with outputs that agree
#     with Tern's (skipped, exit 77, when onnxruntime-node is not installed).
#   tests/compress/real_models.sh TERN_BINARY [WORK_DIR]
set -euo pipefail

TERN="$1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${TERN_CACHE:-$HOME/.cache/tern}"
WORK="${2:-$(mktemp -d)}"
[[ -n "${2:-}" ]] || trap 'rm -rf "$WORK"' EXIT
bash "$ROOT/scripts/fetch_models.sh" >/dev/null

HAVE_ORT=0
[[ -d "$CACHE/ort/node_modules/onnxruntime-node" ]] && HAVE_ORT=1

# Floors on the held-out SQNR (dB), per model and mode; see docs/compress.md for how they were
# measured.
# int4-weights: ppocr_cls measured 57.2 dB (its one MatMul; its ops keep it below opset 21, so
# its Convs stay float); oww_embedding measured 16.7 dB with all 20 Conv weights in 4 bits
# (blocked INT4 DequantizeLinear; ORT agrees with Tern at 127 dB).
declare -A FLOOR=(
  [ppocr_cls:fp16]=55 [ppocr_cls:int8-static]=28 [ppocr_cls:int8-dynamic]=33
  [ppocr_cls:int4-weights]=45
  [oww_embedding:fp16]=55 [oww_embedding:int8-static]=30 [oww_embedding:int8-dynamic]=33
  [oww_embedding:int4-weights]=14
)
# Tern and ORT must agree to this SQNR on the same quantized file. ppocr_cls int8-static is
# the exception under investigation: ORT fuses its QDQ Convs into integer kernels and lands
# 18.9 dB from Tern (Tern is 33 dB from float32); the floor records that, it is not a goal.
declare -A ORT_AGREE=([ppocr_cls:int8-static]=15)
ORT_AGREE_DB=40

fail=0
for model in ppocr_cls oww_embedding; do
  src="$ROOT/tests/models/$model/test_data_set_0"
  node "$ROOT/tests/compress/make_sets.js" "$src" "$WORK/$model/calib" 8 1
  node "$ROOT/tests/compress/make_sets.js" "$src" "$WORK/$model/eval" 3 2
  for mode in fp16 int8-static int8-dynamic int4-weights; do
    out="$WORK/$model/$mode.onnx"
    "$TERN" quantize "$CACHE/models/$model.onnx" "$out" --mode "$mode" --per-channel \
      --calibration-dir "$WORK/$model/calib" --eval-dir "$WORK/$model/eval" \
      --report --report-json "$WORK/$model/$mode.json" | sed "s/^/[$model $mode] /"
    floor="${FLOOR[$model:$mode]}"
    if ! node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const low = r.outputs.filter((o) => !(o.sqnr_db >= Number(process.argv[2])));
      process.exit(low.length ? 1 : 0);' "$WORK/$model/$mode.json" "$floor"; then
      echo "FAIL $model $mode: SQNR below $floor dB"; fail=1
    fi
    [[ $HAVE_ORT == 1 ]] || continue
    "$TERN" run "$out" --input-dir "$WORK/$model/eval/test_data_set_0" \
      --output-dir "$WORK/$model/$mode.tern" >/dev/null
    node "$ROOT/tests/compress/ort_run.js" "$out" "$WORK/$model/eval/test_data_set_0" \
      "$WORK/$model/$mode.ort"
    if ! node "$ROOT/tests/compress/compare.js" "$WORK/$model/$mode.ort" \
        "$WORK/$model/$mode.tern" "${ORT_AGREE[$model:$mode]:-$ORT_AGREE_DB}" | sed "s/^/[$model $mode] ORT vs Tern: /"; then
      echo "FAIL $model $mode: Tern and ONNX Runtime disagree"; fail=1
    fi
  done
done
[[ $fail == 0 ]] || exit 1
if [[ $HAVE_ORT == 0 ]]; then echo "onnxruntime-node not installed: ORT checks skipped"; exit 77; fi
echo "all quantized models pass"
