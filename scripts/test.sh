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
# The real-world Deluge corpus lives beside the repository, never inside it.
if [ -z "${TRESTLE_DELUGE_CORPUS:-}" ] && [ -d "$repo_root/../shared/corpus/deluge" ]; then
  export TRESTLE_DELUGE_CORPUS="$repo_root/../shared/corpus/deluge"
fi
if [ -z "${TRESTLE_SEED_DIR:-}" ] && [ -d "$repo_root/../shared/seed" ]; then
  export TRESTLE_SEED_DIR="$repo_root/../shared/seed"
fi

start_all_peers

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test --workspace --no-fail-fast 2>&1 | tee "$peer_state_dir/cargo-test.log"
run_post_test_checks
