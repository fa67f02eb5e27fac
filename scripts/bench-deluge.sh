#!/usr/bin/env bash
# Benchmark: the Deluge VM against CPython on the same CPU-bound programs
# (bench/deluge/<name>.dg and <name>.py), timed as whole processes in one run.
# Prints the median wall time of each and the ratio Python / Trestle per program.
# Usage: ./scripts/bench-deluge.sh [rounds]   (default 5 rounds per program)
#        TRESTLE_BIN=path/to/trestle ./scripts/bench-deluge.sh   (time an existing binary)
#        BASELINE_BIN=path/to/old/trestle ./scripts/bench-deluge.sh
#            (also times an older binary in the same run, interleaved per program, and
#             prints its time and how much faster the new one is)
# This is a benchmark, never a test: nothing here fails on a slow machine.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
python="${PYTHON:-python3}"

if [ -n "${TRESTLE_BIN:-}" ]; then
  trestle="$TRESTLE_BIN"
else
  echo "== building the release binary"
  cargo build --release --quiet -p trestle
  trestle="${CARGO_TARGET_DIR:-target}/release/trestle"
fi
baseline="${BASELINE_BIN:-}"
echo "python: $($python --version 2>&1)"
echo "rounds: $rounds, load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# Median of the numbers on stdin.
median() {
  sort -n | awk '{ values[NR] = $1 } END { if (NR % 2) print values[(NR + 1) / 2]; else print (values[NR / 2] + values[NR / 2 + 1]) / 2 }'
}

# Wall time of one command in milliseconds (output discarded).
time_once() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}

measure() {
  local output_file=$1
  shift
  if command -v hyperfine >/dev/null 2>&1; then
    hyperfine --warmup 1 --runs "$rounds" --style none --export-json "$output_file" "$*" >/dev/null
    # hyperfine reports seconds; convert the median to milliseconds.
    "$python" -c "import json,sys; print(round(json.load(open(sys.argv[1]))['results'][0]['median'] * 1000))" "$output_file"
  else
    for _ in $(seq "$rounds"); do time_once "$@"; done | median
  fi
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if [ -n "$baseline" ]; then
  printf '\n%-16s %12s %12s %12s %8s %8s %8s\n' "program" "python ms" "baseline ms" "trestle ms" "base x" "ratio" "speedup"
else
  printf '\n%-16s %12s %12s %8s\n' "program" "python ms" "trestle ms" "ratio"
fi
for deluge_program in bench/deluge/*.dg; do
  name=$(basename "$deluge_program" .dg)
  python_program="bench/deluge/$name.py"
  [ -f "$python_program" ] || continue
  # Both must print the same result; a benchmark of a wrong answer is worthless.
  deluge_result=$("$trestle" deluge run --max-statements 100000000 "$deluge_program" | tail -n 1)
  python_result=$("$python" "$python_program" | tail -n 1)
  if [ "$deluge_result" != "$python_result" ]; then
    echo "warning: $name: trestle printed $deluge_result, python printed $python_result" >&2
  fi
  python_ms=$(measure "$scratch/py.json" "$python" "$python_program")
  trestle_ms=$(measure "$scratch/dg.json" "$trestle" deluge run --max-statements 100000000 "$deluge_program")
  ratio=$(awk -v p="$python_ms" -v t="$trestle_ms" 'BEGIN { if (t > 0) printf "%.2f", p / t; else print "inf" }')
  if [ -n "$baseline" ]; then
    baseline_ms=$(measure "$scratch/base.json" "$baseline" deluge run --max-statements 100000000 "$deluge_program")
    baseline_ratio=$(awk -v p="$python_ms" -v t="$baseline_ms" 'BEGIN { if (t > 0) printf "%.2f", p / t; else print "inf" }')
    speedup=$(awk -v b="$baseline_ms" -v t="$trestle_ms" 'BEGIN { if (t > 0) printf "%.2f", b / t; else print "inf" }')
    printf '%-16s %12s %12s %12s %7sx %7sx %7sx\n' "$name" "$python_ms" "$baseline_ms" "$trestle_ms" "$baseline_ratio" "$ratio" "$speedup"
  else
    printf '%-16s %12s %12s %7sx\n' "$name" "$python_ms" "$trestle_ms" "$ratio"
  fi
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
