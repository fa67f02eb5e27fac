#!/usr/bin/env bash
# Benchmarks the proxy API and invokeurl (through functions/run) against a loopback upstream,
# versus calling the upstream directly in the same run: added latency p50/p99 and throughput
# ratio. Goal: under 100 us added at p50 and at least 90% of direct throughput.
# Usage: scripts/bench-proxy.sh [RUNS]   (default 5; prints every run, then the medians)
# BENCH_STORE=postgres runs the server on a fresh PostgreSQL database (started here unless
# TRESTLE_TEST_POSTGRES_URL is set) instead of a SQLite file.
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo_root"
runs=${1:-5}

if [ -z "${TRESTLE_TEST_OIDC_ISSUER:-}" ] ||
  { [ "${BENCH_STORE:-}" = postgres ] && [ -z "${TRESTLE_TEST_POSTGRES_URL:-}" ]; }; then
  # shellcheck source=scripts/peers.sh
  . "$repo_root/scripts/peers.sh"
  trap stop_all_peers EXIT
  [ -n "${TRESTLE_TEST_OIDC_ISSUER:-}" ] || start_oidc_provider
  if [ "${BENCH_STORE:-}" = postgres ] && [ -z "${TRESTLE_TEST_POSTGRES_URL:-}" ]; then
    start_postgres
  fi
fi

cargo build --release -p trestle-server --bench proxy >/dev/null 2>&1 || cargo bench -p trestle-server --bench proxy --no-run
results=$(mktemp)
for run in $(seq 1 "$runs"); do
  echo "== run $run of $runs (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  cargo bench -q -p trestle-server --bench proxy 2>/dev/null | tee -a "$results"
done

python3 - "$results" <<'PY'
import re, statistics, sys
lines = open(sys.argv[1]).read().splitlines()
def median_of(prefix, pattern):
    values = [float(m.group(1)) for line in lines if line.startswith(prefix)
              for m in [re.search(pattern, line)] if m]
    return statistics.median(values) if values else float("nan")
print("== medians over runs")
print("proxy: added p50 %.0f us, added p99 %.0f us, throughput ratio %.3f, cpu per request direct %.0f us through %.0f us" % (
    median_of("proxy:", r"added p50 (-?\d+) us"),
    median_of("proxy:", r"added p99 (-?\d+) us"),
    median_of("proxy:", r"ratio ([\d.]+)"),
    median_of("proxy:", r"cpu per request direct (\d+) us"),
    median_of("proxy:", r"through (\d+) us$")))
print("invokeurl: added per call %.0f us, throughput ratio %.3f" % (
    median_of("invokeurl:", r"added (-?\d+) us"),
    median_of("invokeurl:", r"throughput ratio ([\d.]+)")))
PY
