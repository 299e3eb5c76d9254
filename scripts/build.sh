#!/usr/bin/env bash
# Configures and builds one CMake preset (release by default; debug = ASan+UBSan).
# Uses ccache when it is installed (several checkouts under one folder share it: set
# CCACHE_BASEDIR to that folder).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PRESET="${1:-release}"
cd "$ROOT"
LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake --preset "$PRESET" "${LAUNCHER[@]}" >/dev/null
cmake --build --preset "$PRESET" -j "$(nproc)"
