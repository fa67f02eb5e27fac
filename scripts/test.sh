#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs and starts every peer the tests
# need (PostgreSQL, npm and PyPI test servers), runs formatting, lints and all tests,
# then stops the peers. Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$(pwd)

# shellcheck source=scripts/peers.sh
source scripts/peers.sh
trap stop_all_peers EXIT

export CI="${CI:-}"
# A one-off build gains nothing from incremental caches, which double the target size.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# The real-world Deluge corpus lives beside the repository, never inside it.
if [ -z "${TRESTLE_DELUGE_CORPUS:-}" ] && [ -d "$repo_root/../shared/corpus/deluge" ]; then
  export TRESTLE_DELUGE_CORPUS="$repo_root/../shared/corpus/deluge"
fi
if [ -z "${TRESTLE_SEED_DIR:-}" ] && [ -d "$repo_root/../shared/seed" ]; then
  export TRESTLE_SEED_DIR="$repo_root/../shared/seed"
fi

start_all_peers

# Every stage runs even when an earlier one failed, so one CI run reports everything; the
# script fails at the end if any stage did.
failed_stages=()
run_stage() {
  local name=$1
  shift
  echo "== $name"
  if ! "$@"; then
    failed_stages+=("$name")
  fi
}

# Some server tests drive the real `trestle` binary, so it is built first.
run_stage "cargo build" cargo build --workspace --bins
run_stage "cargo test" cargo test --workspace --no-fail-fast
run_stage "post-test checks" run_post_test_checks
run_stage "Zoho CRM SDK check" run_zoho_sdk_check
run_stage "cargo fmt --check" cargo fmt --all -- --check
run_stage "cargo clippy" cargo clippy --workspace --all-targets --quiet -- -D warnings

# The target directory is the largest thing a run writes; its size shows when a disk runs short.
du -sh target 2>/dev/null || true
df -h . 2>/dev/null || true

if [ ${#failed_stages[@]} -gt 0 ]; then
  echo "FAILED stages: ${failed_stages[*]}" >&2
  exit 1
fi
echo "All stages passed."
