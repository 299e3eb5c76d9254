#!/usr/bin/env bash
# Install onnxruntime-node (CPU build, shipped inside the npm package) into
# $TERN_CACHE/ort, for producing reference outputs. Idempotent: does nothing
# (and no network access) when the right version is already installed and loads.
set -euo pipefail

TERN_CACHE="${TERN_CACHE:-$HOME/.cache/tern}"
ORT_DIR="$TERN_CACHE/ort"
ORT_VERSION="1.30.0"

die() { echo "setup_ort.sh: ERROR: $*" >&2; exit 1; }
command -v node >/dev/null || die "node not found"

check() {
  (cd "$ORT_DIR" && node -e '
    const want = process.argv[1];
    const pkg = require("onnxruntime-node/package.json");
    if (pkg.version !== want) { console.error("have onnxruntime-node " + pkg.version + ", want " + want); process.exit(1); }
    const ort = require("onnxruntime-node");
    if (typeof ort.InferenceSession?.create !== "function" || !ort.listSupportedBackends().some(b => b.name === "cpu")) { console.error("onnxruntime-node did not load (no cpu backend)"); process.exit(1); }
    console.log("onnxruntime-node " + pkg.version + " loads (" + require.resolve("onnxruntime-node") + ")");
  ' "$ORT_VERSION")
}

if [[ -d "$ORT_DIR/node_modules/onnxruntime-node" ]] && check 2>/dev/null; then
  exit 0
fi

command -v npm >/dev/null || die "npm not found"
mkdir -p "$ORT_DIR"
echo "installing onnxruntime-node@$ORT_VERSION into $ORT_DIR"
# The package's postinstall would try to download a GPU/extra binary, which
# can't be fetched here; the CPU library is already inside the package.
ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$ORT_DIR" --no-audit --no-fund \
  "onnxruntime-node@$ORT_VERSION" || die "npm install onnxruntime-node@$ORT_VERSION failed"
check || die "onnxruntime-node installed but does not load"
