#!/usr/bin/env bash
# Synthesize a short English speech test file for VAD demos/tests.
#
#   scripts/make_speech.sh OUT.wav
#
# Uses espeak-ng (text-to-speech) and sox (Debian packages espeak-ng, sox).
# Writes 16 kHz mono 16-bit PCM WAV: 1 s of silence, then each sentence
# (leading/trailing silence trimmed) followed by 1 s of silence. Prints the
# expected speech segments (start/end in seconds) so a VAD result can be judged.
# Note: short pauses between words inside a sentence (< ~0.2 s) are part of a
# segment; a VAD with a short min-silence setting may split there.
set -euo pipefail

OUT="${1:-}"
if [[ -z "$OUT" || $# -ne 1 ]]; then
  echo "usage: $0 OUT.wav" >&2
  exit 2
fi
for tool in espeak-ng sox soxi; do
  command -v "$tool" >/dev/null || { echo "make_speech.sh: $tool not found (apt-get install espeak-ng sox)" >&2; exit 1; }
done

RATE=16000
GAP=1.0          # seconds of silence before, between and after sentences
SENTENCES=(
  "Hello, this is a test of the voice activity detector."
  "The quick brown fox jumps over the lazy dog."
  "Please call me back tomorrow morning at nine o'clock."
  "Thank you, goodbye."
)

TMP="$(mktemp -d)"
trap '[[ -n "${KEEP_TMP:-}" ]] || rm -rf "$TMP"' EXIT; [[ -n "${KEEP_TMP:-}" ]] && echo "tmp: $TMP" >&2

# -D: no dither, so the gaps are exact digital silence and output is reproducible.
SOXFMT=(-r "$RATE" -c 1 -b 16 -e signed-integer)
gap_samples=$(awk -v g="$GAP" -v r="$RATE" 'BEGIN { printf "%d", g * r + 0.5 }')
sox -D -r "$RATE" -c 1 -n "${SOXFMT[@]}" "$TMP/gap.wav" trim 0s "${gap_samples}s"

parts=("$TMP/gap.wav")
pos=$gap_samples
segments=()
for i in "${!SENTENCES[@]}"; do
  text="${SENTENCES[$i]}"
  espeak-ng -v en-us -s 160 -w "$TMP/raw_$i.wav" "$text"
  # Resample to 16 kHz mono 16-bit and trim silence at both ends
  # (threshold 0.1% of full scale, i.e. about -60 dBFS).
  sox -D "$TMP/raw_$i.wav" "${SOXFMT[@]}" "$TMP/seg_$i.wav" \
    silence 1 0.005 0.1% reverse silence 1 0.005 0.1% reverse
  n=$(soxi -s "$TMP/seg_$i.wav")
  [[ "$n" -gt 0 ]] || { echo "make_speech.sh: espeak-ng produced no audio for: $text" >&2; exit 1; }
  segments+=("$pos $((pos + n)) $text")
  parts+=("$TMP/seg_$i.wav" "$TMP/gap.wav")
  pos=$((pos + n + gap_samples))
done

mkdir -p "$(dirname "$OUT")"
sox -D "${parts[@]}" "${SOXFMT[@]}" -t wav "$OUT"

total=$(soxi -s "$OUT")
[[ "$total" -eq "$pos" ]] || { echo "make_speech.sh: length mismatch ($total vs $pos samples)" >&2; exit 1; }

echo "wrote $OUT: $RATE Hz mono 16-bit PCM, $total samples ($(awk -v n="$total" -v r="$RATE" 'BEGIN{printf "%.3f", n/r}') s)"
echo "expected speech segments (seconds; samples at $RATE Hz):"
for s in "${segments[@]}"; do
  read -r a b text <<<"$s"
  awk -v a="$a" -v b="$b" -v r="$RATE" -v t="$text" \
    'BEGIN { printf "  %7.3f - %7.3f  (%d - %d)  %s\n", a/r, b/r, a, b, t }'
done
