#!/usr/bin/env bash
# Benchmark of the outbound request engine against a loopback upstream, versus calling the
# upstream directly with a plain reqwest client in the same run (added latency at p50/p99,
# throughput ratio; several rounds, medians).
#
# The upstream runs as its own process so client and server do not share one runtime.
# Usage: ./scripts/bench-outbound.sh [--rounds 7] [--requests 2000] [--concurrency 8]
#        [--throughput-requests 8000] [--candidate-url URL]
# --candidate-url adds a plain GET of another URL as a candidate (e.g. the server's proxy
# endpoint forwarding to the same upstream); --upstream URL uses an upstream you started
# (add --upstream-pid PID to count its CPU time).
# Besides wall-clock figures it reports CPU time per request (client and upstream, from
# /proc/<pid>/task/*/schedstat): on a busy machine wall-clock throughput swings with other
# load, CPU per request does not; "CPU-bound throughput" is direct CPU / candidate CPU.
#
# ./scripts/bench-outbound.sh --instructions [REQUESTS] counts the client's instructions per
# request for each candidate under valgrind's callgrind (noise-free, whatever the machine's
# load): a run of 200 requests and one of 200 + REQUESTS (default 1000), difference divided.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${TRESTLE_BENCH_UPSTREAM_PORT:-9300}"
cargo build --quiet --release -p trestle-outbound --example bench_outbound
target_dir="${CARGO_TARGET_DIR:-target}"
binary="$target_dir/release/examples/bench_outbound"

if [[ "${1:-}" == "--instructions" ]]; then
  extra="${2:-1000}"
  "$binary" serve --port "$port" 2>/dev/null &
  upstream_pid=$!
  trap 'kill "$upstream_pid" 2>/dev/null || true' EXIT
  for attempt in $(seq 1 50); do
    curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  scratch="$(mktemp -d)"
  instructions() {
    valgrind --tool=callgrind --callgrind-out-file="$scratch/out" "$binary" profile \
      --upstream "http://127.0.0.1:$port" --candidate "$1" --requests "$2" >/dev/null 2>&1
    awk '/^(summary|totals):/ { print $2; exit }' "$scratch/out"
  }
  declare -A per_request
  for candidate in direct engine engine+connection direct+authorization; do
    short=$(instructions "$candidate" 200)
    long=$(instructions "$candidate" $((200 + extra)))
    per_request[$candidate]=$(( (long - short) / extra ))
    echo "$candidate: ${per_request[$candidate]} instructions per request (client)"
  done
  compare() {
    awk -v direct="${per_request[$2]}" -v candidate="${per_request[$1]}" -v name="$1" -v baseline="$2" \
      'BEGIN { printf "%s: %+d instructions per request over %s, %.1f%% of its throughput if bound by client instructions\n", name, candidate - direct, baseline, 100 * direct / candidate }'
  }
  compare engine direct
  compare engine+connection direct
  compare engine+connection direct+authorization
  rm -rf "$scratch"
  exit 0
fi

upstream_args=()
if [[ " $* " != *" --upstream "* ]]; then
  "$binary" serve --port "$port" 2>/dev/null &
  upstream_pid=$!
  trap 'kill "$upstream_pid" 2>/dev/null || true' EXIT
  for attempt in $(seq 1 50); do
    curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  upstream_args=(--upstream "http://127.0.0.1:$port" --upstream-pid "$upstream_pid")
fi

"$binary" "${upstream_args[@]}" "$@"
