# Test peers: real third-party servers the test suite runs against. Sourced by scripts/test.sh.
# Every peer listens on 127.0.0.1 only, is started in the background and stopped by its PID.
# Each start_* function exports the environment variable the tests read; a test that needs
# a peer fails when CI=true and its variable is missing.

peer_state_dir=$(mktemp -d -t trestle-peers.XXXXXX)
peer_pids=()

# A free loopback port, so the suite never collides with servers a developer already runs.
pick_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

stop_all_peers() {
  for pid in "${peer_pids[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  if [ -n "${postgres_bin_dir:-}" ] && [ -d "$peer_state_dir/pgdata" ]; then
    runuser -u postgres -- "$postgres_bin_dir/pg_ctl" -D "$peer_state_dir/pgdata" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$peer_state_dir" 2>/dev/null || true
}

start_postgres() {
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "== installing PostgreSQL"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  postgres_bin_dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  local port
  port=$(pick_free_port)
  mkdir -p "$peer_state_dir/pgdata"
  chown -R postgres:postgres "$peer_state_dir"
  runuser -u postgres -- "$postgres_bin_dir/initdb" -D "$peer_state_dir/pgdata" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  runuser -u postgres -- "$postgres_bin_dir/pg_ctl" -D "$peer_state_dir/pgdata" -l "$peer_state_dir/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $peer_state_dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null
  runuser -u postgres -- "$postgres_bin_dir/psql" -q -h 127.0.0.1 -p $port -U postgres \
    -c "create role trestle login password 'trestle' createdb" -c "create database trestle owner trestle" >/dev/null
  export TRESTLE_TEST_POSTGRES_URL="postgres://trestle:trestle@127.0.0.1:$port/trestle"
  echo "== PostgreSQL ready at 127.0.0.1:$port"
}

# Starts a peer in the background (its output in "$peer_state_dir/NAME.log"), waits up to 10 s
# for BASE_URL + CHECK_PATH to answer, then exports VARIABLE=BASE_URL for the tests.
# Usage: start_peer NAME VARIABLE BASE_URL CHECK_PATH COMMAND [ARGUMENT...]
start_peer() {
  local name=$1 variable=$2 base_url=$3 check_path=$4
  shift 4
  local log="$peer_state_dir/$name.log"
  "$@" >"$log" 2>&1 &
  peer_pids+=("$!")
  local attempt
  for attempt in $(seq 1 100); do
    if curl -sf "$base_url$check_path" >/dev/null 2>&1; then
      export "$variable=$base_url"
      echo "== $name ready at ${base_url#http://}"
      return 0
    fi
    sleep 0.1
  done
  echo "$name did not answer on ${base_url#http://}; its log:" >&2
  cat "$log" >&2
  return 1
}

# The test-peers virtualenv with the pinned packages of REQUIREMENTS_FILE installed.
# Usage: install_python_requirements LABEL REQUIREMENTS_FILE
install_python_requirements() {
  local label=$1 requirements=$2
  local peers_dir="${repo_root:-$(pwd)}/test-peers"
  if [ ! -x "$peers_dir/.venv/bin/python" ]; then
    python3 -m venv "$peers_dir/.venv" || return 1
  fi
  echo "== installing $label (pip)"
  "$peers_dir/.venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >/dev/null
}

start_oidc_provider() {
  # npm oidc-provider, pinned by test-peers/oidc-provider/package-lock.json; loopback only.
  local peer_dir="${repo_root:-$(pwd)}/test-peers/oidc-provider"
  local port
  port=$(pick_free_port)
  echo "== installing oidc-provider (npm ci)"
  (cd "$peer_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  start_peer oidc-provider TRESTLE_TEST_OIDC_ISSUER "http://127.0.0.1:$port" \
    /.well-known/openid-configuration env PORT="$port" node "$peer_dir/server.mjs"
}

start_httpbin() {
  # PyPI httpbin under gunicorn, pinned in test-peers/requirements.txt, in test-peers/.venv;
  # loopback only. Threaded workers so /delay endpoints do not block other tests.
  local peers_dir="${repo_root:-$(pwd)}/test-peers"
  local port
  port=$(pick_free_port)
  install_python_requirements httpbin "$peers_dir/requirements.txt" || return 1
  # HOME points into the state dir: gunicorn writes a control file under ~/.gunicorn.
  start_peer httpbin TRESTLE_TEST_HTTPBIN_URL "http://127.0.0.1:$port" /get \
    env HOME="$peer_state_dir" "$peers_dir/.venv/bin/python" -m gunicorn --chdir "$peer_state_dir" \
    -b "127.0.0.1:$port" -w 2 -k gthread --threads 8 httpbin:app
}

start_all_peers() {
  start_postgres
  start_oidc_provider
  start_httpbin
}

# Builds `trestle`, starts `trestle serve` on a fresh SQLite data folder named NAME and seeds
# an API token with `trestle admin`. Sets trestle_url, trestle_organization_id, trestle_token
# and trestle_serve_pid; the log is "$peer_state_dir/NAME-serve.log".
# Usage: start_trestle_with_token NAME
start_trestle_with_token() {
  local name=$1
  local trestle="${CARGO_TARGET_DIR:-${repo_root:-$(pwd)}/target}/debug/trestle"
  local data_dir="$peer_state_dir/$name-data"
  local banner="$peer_state_dir/$name-serve.out"
  echo "== building trestle for $name"
  cargo build -q -p trestle || return 1
  "$trestle" serve --data-dir "$data_dir" --listen 127.0.0.1:0 >"$banner" 2>"$peer_state_dir/$name-serve.log" &
  trestle_serve_pid=$!
  peer_pids+=("$trestle_serve_pid")
  local attempt
  for attempt in $(seq 1 300); do
    grep -q '^Press Ctrl-C' "$banner" 2>/dev/null && break
    sleep 0.1
  done
  trestle_url=$(sed -n 's/^Trestle is running at //p' "$banner" | head -1)
  if [ -z "$trestle_url" ]; then
    echo "trestle serve did not start; its log:" >&2
    cat "$peer_state_dir/$name-serve.log" >&2
    return 1
  fi
  trestle_organization_id=$("$trestle" admin list-orgs --data-dir "$data_dir" | head -1 | cut -f1)
  trestle_token=$("$trestle" admin issue-token --org "$trestle_organization_id" \
    --email admin@trestle.localhost --name "$name" --data-dir "$data_dir" 2>/dev/null)
  if [ -z "$trestle_token" ]; then
    echo "could not seed an API token for $name" >&2
    return 1
  fi
}

stop_trestle() {
  kill -TERM "$trestle_serve_pid" 2>/dev/null || true
  wait "$trestle_serve_pid" 2>/dev/null || true
}

run_schemathesis() {
  # PyPI schemathesis (pinned in test-peers/requirements.txt) against a real `trestle serve` on
  # a fresh SQLite data folder, authenticated with an API token seeded by `trestle admin`.
  # Fails on any 5xx, undocumented status, wrong content type or body that breaks the schema.
  local peers_dir="${repo_root:-$(pwd)}/test-peers"
  install_python_requirements schemathesis "$peers_dir/requirements.txt" || return 1
  start_trestle_with_token schemathesis || return 1
  local status=0
  "$peers_dir/.venv/bin/schemathesis" run "$trestle_url/api/v1/openapi.json" \
    --header "Authorization: Bearer $trestle_token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples 30 --workers 1 --seed 20261128 --no-color || status=$?
  stop_trestle
  return "$status"
}

run_zoho_sdk_check() {
  # The official Zoho CRM Python SDK (zohocrmsdk8-0, pinned in test-peers/zoho-sdk) against a
  # real `trestle serve` on a fresh SQLite data folder: test-peers/zoho-sdk/sdk_check.py
  # provisions an OAuth client and refresh token through the management API, then the SDK gets
  # its own access token and creates, lists, reads, updates, searches and deletes Contacts
  # through /crm/v8 (Trestle's alias of /bigin/v2). Fails on any mismatch.
  local peers_dir="${repo_root:-$(pwd)}/test-peers"
  install_python_requirements "the Zoho CRM Python SDK" "$peers_dir/zoho-sdk/requirements.txt" || return 1
  start_trestle_with_token zoho-sdk-check || return 1
  mkdir -p "$peer_state_dir/zoho-sdk-work"
  local status=0
  "$peers_dir/.venv/bin/python" "$peers_dir/zoho-sdk/sdk_check.py" "${trestle_url%/}" \
    "$trestle_organization_id" "$trestle_token" "$peer_state_dir/zoho-sdk-work" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "trestle serve log:" >&2
    tail -50 "$peer_state_dir/zoho-sdk-check-serve.log" >&2
  fi
  stop_trestle
  return "$status"
}

run_post_test_checks() {
  run_schemathesis
}
