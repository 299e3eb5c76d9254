#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the hub's tests: a real postgres process listening on
# 127.0.0.1 on a free port, its data in a temporary folder, trust authentication (only this
# machine's loopback can reach it), fsync off (the data is thrown away).
#
#   tests/hub/pg_test_cluster.sh start STATE_DIR   prints the server URL, writes STATE_DIR/url
#   tests/hub/pg_test_cluster.sh stop STATE_DIR    stops it and removes its folder
#
# The URL names the superuser "tern" and the "postgres" database; tests create their own
# databases on it. As root, the server runs as the "postgres" user (postgres refuses root).
# Binaries: $PG_BIN, else the newest /usr/lib/postgresql/*/bin.
#
# When the cluster cannot start, STATE_DIR/error says why. The exit status is then 1 when
# CI=true (the CTest fixture fails, and so do the tests that need it) and 0 otherwise (the
# PostgreSQL tests skip with that message, the SQLite ones still run).
set -uo pipefail

cmd="${1:-}"
state="${2:-}"
if [[ -z "$cmd" || -z "$state" ]]; then
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
fi

fail() {
  echo "pg_test_cluster: $*" >&2
  mkdir -p "$state" && echo "$*" >"$state/error"
  if [[ "${CI:-}" == "true" ]]; then exit 1; fi
  exit 0
}

# Runs a command as the cluster's owner.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

find_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then
    echo "$PG_BIN"
    return
  fi
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  echo "$d"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  rm -f "$state/url" "$state/error"
  mkdir -p "$state"
  local bin
  bin="$(find_bin)"
  if [[ -z "$bin" || ! -x "$bin/initdb" || ! -x "$bin/pg_ctl" ]]; then
    fail "PostgreSQL server binaries not found (install the postgresql package; scripts/install_deps.sh does)"
  fi
  if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
    fail "running as root and there is no postgres user to run the server as"
  fi
  local dir
  dir="$(mktemp -d /tmp/tern-pg-XXXXXX)" || fail "cannot make a temporary folder"
  echo "$dir" >"$state/cluster"
  echo "$bin" >"$state/bin"
  if [[ "$(id -u)" == 0 ]]; then chown postgres "$dir"; fi
  if ! as_owner "$bin/initdb" -D "$dir/data" -U tern --auth=trust -E UTF8 --locale=C \
      --no-sync >"$dir/initdb.log" 2>&1; then
    fail "initdb failed: $(tail -n 5 "$dir/initdb.log" | tr '\n' ' ')"
  fi
  # A random port, retried: another process may take a port between the check and the bind.
  local attempt port
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    if port_in_use "$port"; then continue; fi
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start >"$dir/pg_ctl.log" 2>&1; then
      local url="postgresql://tern@127.0.0.1:$port/postgres"
      echo "$url" >"$state/url"
      echo "$url"
      return 0
    fi
  done
  fail "postgres did not start: $(tail -n 5 "$dir/server.log" 2>/dev/null | tr '\n' ' ')"
}

stop() {
  [[ -f "$state/cluster" ]] || exit 0
  local dir bin
  dir="$(cat "$state/cluster")"
  bin="$(cat "$state/bin" 2>/dev/null || find_bin)"
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1
  fi
  case "$dir" in
    /tmp/tern-pg-*) rm -rf "$dir" ;;
  esac
  rm -f "$state/url" "$state/cluster" "$state/bin" "$state/error"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
