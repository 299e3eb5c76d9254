#!/usr/bin/env bash
# Fetch the real test models, install onnxruntime-node, and (re)generate the
# ONNX Runtime reference data under tests/models/<short>/test_data_set_N/.
# Extra arguments go to make_refs.js (e.g. --check, --attrs, model short names).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/fetch_models.sh"
"$ROOT/scripts/setup_ort.sh"
node "$ROOT/tests/models/make_refs.js" "$@"
