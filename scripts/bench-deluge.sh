#!/usr/bin/env bash
# Benchmark: the Deluge VM against CPython on the same CPU-bound programs
# (bench/deluge/<name>.dg and <name>.py), timed as whole processes in one run.
# Rounds are interleaved (python, trestle[, baseline], python, ...) so a change in machine
# load hits every contender alike; each one's median wall time is reported, with the ratio
# Python / Trestle per program. A first line compares start-up alone: an empty Deluge
# script against `python -c pass`.
# Usage: ./scripts/bench-deluge.sh [rounds]   (default 5 rounds per program, after 1 warm-up)
#        TRESTLE_BIN=path/to/trestle ./scripts/bench-deluge.sh   (time an existing binary)
#        BASELINE_BIN=path/to/old/trestle ./scripts/bench-deluge.sh
#            (also times an older binary in the same rounds, and prints its time and how
#             much faster the new one is)
#        PYTHON=python3.11 PYTHON_FLAGS="-S" ./scripts/bench-deluge.sh
# Python is timed as the interpreter itself: `python3` is resolved to sys.executable, so a
# version-manager shim (a shell script that starts the interpreter) is not counted, and it
# runs with -S (no site module: no .pth hooks of the local installation) unless
# PYTHON_FLAGS says otherwise. Both choices make Python faster, never slower.
# This is a benchmark, never a test: nothing here fails on a slow machine.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
python_command="${PYTHON:-python3}"
python="$("$python_command" -c 'import sys; print(sys.executable)')"
read -r -a python_flags <<<"${PYTHON_FLAGS--S}"

if [ -n "${TRESTLE_BIN:-}" ]; then
  trestle="$TRESTLE_BIN"
else
  echo "== building the release binary"
  cargo build --release --quiet -p trestle
  trestle="${CARGO_TARGET_DIR:-target}/release/trestle"
fi
baseline="${BASELINE_BIN:-}"
echo "python: $("$python" --version 2>&1) ($python ${python_flags[*]})"
echo "rounds: $rounds (interleaved, after 1 warm-up), load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# Median of the numbers on stdin.
median() {
  sort -n | awk '{ values[NR] = $1 } END { if (NR % 2) print values[(NR + 1) / 2]; else print (values[NR / 2] + values[NR / 2 + 1]) / 2 }'
}

# Wall time of one command in milliseconds (output discarded), read from the shell's own
# clock so no timing process is started.
time_once() {
  local start end
  start=$EPOCHREALTIME
  "$@" >/dev/null
  end=$EPOCHREALTIME
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f\n", (e - s) * 1000 }'
}

ratio() {
  awk -v numerator="$1" -v denominator="$2" 'BEGIN { if (denominator > 0) printf "%.2f", numerator / denominator; else print "inf" }'
}

# Times the contenders of one program in interleaved rounds; sets the *_ms variables.
# Arguments: the Python program, then the Deluge program (empty for start-up alone).
measure_program() {
  local python_program=$1 deluge_program=$2 round
  local -a python_times=() trestle_times=() baseline_times=()
  local -a python_run trestle_run baseline_run
  if [ "$python_program" = "-" ]; then
    python_run=("$python" "${python_flags[@]}" -c pass)
  else
    python_run=("$python" "${python_flags[@]}" "$python_program")
  fi
  trestle_run=("$trestle" deluge run --max-statements 100000000 "$deluge_program")
  baseline_run=("$baseline" deluge run --max-statements 100000000 "$deluge_program")
  for round in $(seq 0 "$rounds"); do
    local python_time trestle_time baseline_time=""
    python_time=$(time_once "${python_run[@]}")
    trestle_time=$(time_once "${trestle_run[@]}")
    if [ -n "$baseline" ]; then
      baseline_time=$(time_once "${baseline_run[@]}")
    fi
    [ "$round" -eq 0 ] && continue # warm-up: file cache, page cache of the binaries
    python_times+=("$python_time")
    trestle_times+=("$trestle_time")
    baseline_times+=("$baseline_time")
  done
  python_ms=$(printf '%s\n' "${python_times[@]}" | median)
  trestle_ms=$(printf '%s\n' "${trestle_times[@]}" | median)
  baseline_ms=""
  if [ -n "$baseline" ]; then
    baseline_ms=$(printf '%s\n' "${baseline_times[@]}" | median)
  fi
}

print_row() {
  local name=$1
  if [ -n "$baseline" ]; then
    printf '%-16s %12s %12s %12s %7sx %7sx %7sx\n' "$name" "$python_ms" "$baseline_ms" "$trestle_ms" \
      "$(ratio "$python_ms" "$baseline_ms")" "$(ratio "$python_ms" "$trestle_ms")" "$(ratio "$baseline_ms" "$trestle_ms")"
  else
    printf '%-16s %12s %12s %7sx\n' "$name" "$python_ms" "$trestle_ms" "$(ratio "$python_ms" "$trestle_ms")"
  fi
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if [ -n "$baseline" ]; then
  printf '\n%-16s %12s %12s %12s %8s %8s %8s\n' "program" "python ms" "baseline ms" "trestle ms" "base x" "ratio" "speedup"
else
  printf '\n%-16s %12s %12s %8s\n' "program" "python ms" "trestle ms" "ratio"
fi

echo 'return 0;' >"$scratch/empty.dg"
measure_program - "$scratch/empty.dg"
print_row "(start-up)"

for deluge_program in bench/deluge/*.dg; do
  name=$(basename "$deluge_program" .dg)
  python_program="bench/deluge/$name.py"
  [ -f "$python_program" ] || continue
  # Both must print the same result; a benchmark of a wrong answer is worthless.
  deluge_result=$("$trestle" deluge run --max-statements 100000000 "$deluge_program" | tail -n 1)
  python_result=$("$python" "${python_flags[@]}" "$python_program" | tail -n 1)
  if [ "$deluge_result" != "$python_result" ]; then
    echo "warning: $name: trestle printed $deluge_result, python printed $python_result" >&2
  fi
  measure_program "$python_program" "$deluge_program"
  print_row "$name"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
