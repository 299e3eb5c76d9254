#!/usr/bin/env bash
# CPU time (user + system) of one inference at 1 thread, for Tern or ONNX Runtime: the CPU time of
# RUNS+1 runs minus that of 1 run, divided by RUNS, so load time and the first run cancel out.
# Unlike wall-clock latency it barely moves when other processes share the cores (the 2-core
# development machine usually has several), so it is what the int8 figures in docs/compress.md use.
#   bench/cpu_ms_per_run.sh tern|ort MODEL INPUT_DIR [RUNS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
engine="$1" model="$2" inputs="$3" runs="${4:-10}"
one() {
  if [[ $engine == tern ]]; then
    "$ROOT/build/release/tern" bench "$model" --input-dir "$inputs" --threads 1 --warmup 0 \
      --runs "$1" >/dev/null
  else
    node "$ROOT/bench/ort_bench.js" "$model" "$inputs" 1 "$1" 0 >/dev/null
  fi
}
cpu_seconds() {
  local TIMEFORMAT='%U %S'
  { time one "$1" 2>/dev/null; } 2>&1 | awk '{print $1 + $2}'
}
a=$(cpu_seconds 1)
b=$(cpu_seconds $((runs + 1)))
awk -v a="$a" -v b="$b" -v n="$runs" 'BEGIN { printf "%.1f\n", (b - a) * 1000 / n }'
