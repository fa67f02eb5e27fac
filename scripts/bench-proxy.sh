#!/usr/bin/env bash
# Benchmarks the proxy API and invokeurl (through functions/run) against a loopback upstream,
# versus calling the upstream directly in the same run: added latency p50/p99 and throughput
# ratio. Goal: under 100 us added at p50 and at least 90% of direct throughput.
# Usage: scripts/bench-proxy.sh [RUNS]   (default 5; prints every run, then the medians)
# BENCH_STORE=postgres runs the server on a fresh PostgreSQL database (started here unless
# TRESTLE_TEST_POSTGRES_URL is set) instead of a SQLite file.
# scripts/bench-proxy.sh --instructions [REQUESTS] counts instructions per request instead
# (valgrind's callgrind, the whole process: client, Trestle, upstream; default 2000 requests per
# candidate): direct, a bare reference proxy, Trestle's proxy and invokeurl. Machine load does
# not change these counts. The per-phase profiles stay in the printed folder for
# callgrind_annotate.
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo_root"
runs=${1:-5}
instruction_requests=
if [ "${1:-}" = "--instructions" ]; then
  instruction_requests=${2:-2000}
fi

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
if [ -n "$instruction_requests" ]; then
  bench_binary=$(cargo bench -p trestle-server --bench proxy --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "proxy" and message.get("executable"):
        print(message["executable"])')
  profiles=$(mktemp -d)
  # Dumps land before each phase boundary: .1 setup and warm-up, .2 direct, .3 reference
  # proxy, .4 Trestle proxy, .5 invokeurl.
  BENCH_PROXY_INSTRUCTIONS=$instruction_requests valgrind --tool=callgrind \
    --dump-before='*callgrind_phase_boundary*' --callgrind-out-file="$profiles/callgrind.out" \
    "$bench_binary" --bench >/dev/null 2>"$profiles/stderr" || { cat "$profiles/stderr" >&2; exit 1; }
  python3 - "$profiles" "$instruction_requests" <<'PY'
import glob, re, sys
folder, requests = sys.argv[1], int(sys.argv[2])
def total(part):
    for line in open(f"{folder}/callgrind.out.{part}"):
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    return 0
direct, reference, proxy, invokeurl = (total(part) for part in (2, 3, 4, 5))
per = lambda count: count / requests
print(f"instructions per request (whole process: client, upstream and any proxy), {requests} requests")
print(f"direct: {per(direct):.0f}")
print(f"reference proxy: {per(reference):.0f} (hop adds {per(reference - direct):.0f}; direct/reference {direct / reference:.3f})")
print(f"proxy: {per(proxy):.0f} (hop adds {per(proxy - direct):.0f}; direct/proxy {direct / proxy:.3f})")
print(f"invokeurl: {per(invokeurl):.0f} per call through functions/run (direct is {per(direct):.0f})")
print(f"profiles: {folder}/callgrind.out.N (2 direct, 3 reference, 4 proxy, 5 invokeurl)")
PY
  exit 0
fi

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
