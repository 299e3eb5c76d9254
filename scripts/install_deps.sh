#!/usr/bin/env bash
# Installs everything Tern needs to build, test and run its demo on Debian 12 (run as root, or
# with sudo available). Idempotent: does nothing when all packages are present.
#   scripts/install_deps.sh [--fixtures]   (--fixtures: also what remakes test fixtures)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  clang libclang-rt-14-dev clang-format
  libgtest-dev libgmock-dev libbenchmark-dev
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  libcli11-dev nlohmann-json3-dev
  libboost-dev libsqlite3-dev libsodium-dev libzstd-dev libcurl4-openssl-dev curl libssl-dev openssl
  postgresql libpqxx-dev
  espeak-ng sox
  zlib1g-dev dataset-fashion-mnist
)
# Only for remaking the Fashion-MNIST fixture (scripts/train_fashion_cnn.py); large.
if [[ "${1:-}" == "--fixtures" ]]; then PACKAGES+=(python3-torch); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install_deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install_deps: all packages present"
