#!/usr/bin/env bash
# poolsim reality suite: real connection pools against a throwaway PostgreSQL,
# side by side with poolsim.
#
#   bash reality/run.sh            # the full suite (opt-in; ~6 min once installed)
#   bash reality/run.sh --quick    # the CI subset (~2 min once installed)
#   bash reality/run.sh --case lab-ex3 --case node-refused   # chosen cases
#   bash reality/run.sh --list     # the cases, with what each shows
#
# What it does, in order:
#   1. installs what it needs, once: Debian's postgresql and pgbouncer (apt-get,
#      with services kept from starting) and, when a JDK is present, HikariCP and
#      PostgreSQL's JDBC driver (libhikaricp-java, libpostgresql-jdbc-java), a venv in reality/.venv (pinned
#      reality/requirements.txt), node-postgres in reality/node/node_modules
#      (npm ci from the committed lockfile), and `cargo build --release --locked`;
#   2. creates a throwaway PostgreSQL cluster (initdb into a temp dir, unix
#      socket in that dir, 127.0.0.1 on a free port), as the `postgres` user;
#   3. runs the cases (reality/suite.py), each against the real libraries and
#      against its poolsim scenario in reality/scenarios/;
#   4. writes target/reality/report.md and prints it;
#   5. always stops everything it started (trap on EXIT, INT, TERM) and removes
#      the temp dir.
#
# Exit code: 0 when every compared figure is within its tolerance (known
# differences are reported, not failed), 1 when one is outside, 2 when the
# suite could not run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
OUT="$ROOT/target/reality"
VENV="$HERE/.venv"
NODE_DIR="$HERE/node"
SIM="$ROOT/target/release/sim"

log() { printf '[reality %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --list needs nothing installed beyond python3.
for a in "$@"; do
  if [[ "$a" == "--list" ]]; then exec python3 "$HERE/suite.py" --list; fi
done

# ---------------------------------------------------------------- cleanup ---
TMP=""
PG_BIN=""
POLICY_RC_CREATED=0
SUITE_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # The suite itself first (it runs in the background so that a signal to this script is
  # handled at once, not after the suite ends), then its children.
  if [[ -n "$SUITE_PID" ]]; then kill -TERM "$SUITE_PID" 2>/dev/null || true; fi
  # The suite's children (apps, drivers, samplers, pgbouncer) by their pids.
  if [[ -n "$TMP" && -f "$TMP/pids" ]]; then
    while read -r pid; do
      [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
    done < "$TMP/pids"
    sleep 0.3
    while read -r pid; do
      [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
    done < "$TMP/pids"
  fi
  if [[ -n "$TMP" && -f "$TMP/pgbouncer.pid" ]]; then
    kill -TERM "$(cat "$TMP/pgbouncer.pid")" 2>/dev/null || true
  fi
  if [[ -n "$TMP" && -n "$PG_BIN" && -f "$TMP/data/postmaster.pid" ]]; then
    log "stopping the throwaway PostgreSQL"
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [[ "$POLICY_RC_CREATED" == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
  if [[ -n "$TMP" && -d "$TMP" ]]; then rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- install ---
t_install=$(date +%s.%N)
need_apt=()
ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v pgbouncer >/dev/null 2>&1 || need_apt+=(pgbouncer)
# HikariCP (optional case, needs the JDK that this machine has): Debian's jars, no Maven.
if command -v javac >/dev/null 2>&1; then
  [[ -f /usr/share/java/HikariCP.jar ]] || need_apt+=(libhikaricp-java)
  [[ -f /usr/share/java/postgresql.jar ]] || need_apt+=(libpostgresql-jdbc-java)
  [[ -f /usr/share/java/slf4j-nop.jar ]] || need_apt+=(libslf4j-java)
fi
if (( ${#need_apt[@]} )); then
  if [[ $(id -u) != 0 ]]; then echo "reality: need root to apt-get install ${need_apt[*]}" >&2; exit 2; fi
  log "apt-get install ${need_apt[*]} (services kept from starting)"
  # Debian starts a package's service on install (a system cluster, a system
  # pgbouncer). The suite must not: policy-rc.d exit 101 forbids it.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    POLICY_RC_CREATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  if [[ "$POLICY_RC_CREATED" == 1 ]]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC_CREATED=0; fi
fi
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

req_sum="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.installed" 2>/dev/null)" != "$req_sum" ]]; then
  log "creating the venv reality/.venv (pinned requirements.txt)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r "$HERE/requirements.txt"
  echo "$req_sum" > "$VENV/.installed"
fi
PY="$VENV/bin/python"

lock_sum="$(sha256sum "$NODE_DIR/package-lock.json" | cut -d' ' -f1)"
if [[ ! -d "$NODE_DIR/node_modules/pg" || "$(cat "$NODE_DIR/node_modules/.installed" 2>/dev/null)" != "$lock_sum" ]]; then
  log "npm ci in reality/node (committed package-lock.json)"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_sum" > "$NODE_DIR/node_modules/.installed"
fi

log "cargo build --release --locked"
(cd "$ROOT" && cargo build --release --locked -q)
t_ready=$(date +%s.%N)
log "installation/check took $(python3 -c "print(f'{$t_ready - $t_install:.1f}')") s"

# --------------------------------------------------------------- database ---
mkdir -p "$OUT"
TMP="$(mktemp -d /tmp/poolsim-reality.XXXXXX)"
chmod 755 "$TMP"
: > "$TMP/pids"
id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
chown postgres "$TMP"
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log "initdb into $TMP/data (port $PORT, socket in $TMP)"
runuser -u postgres -- "$PG_BIN/initdb" -D "$TMP/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
# The suite's own settings: nothing durable is needed from a throwaway cluster.
cat >> "$TMP/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$TMP'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
superuser_reserved_connections = 3
logging_collector = off
log_min_messages = fatal
EOF

export REALITY_TMP="$TMP" REALITY_PG_BIN="$PG_BIN" REALITY_PORT="$PORT" \
  REALITY_OUT="$OUT" REALITY_SIM="$SIM" REALITY_NODE_DIR="$NODE_DIR" \
  REALITY_INSTALL_S="$(python3 -c "print(f'{$t_ready - $t_install:.1f}')")"
set +e
"$PY" "$HERE/suite.py" "$@" &
SUITE_PID=$!
wait "$SUITE_PID"
rc=$?
SUITE_PID=""
set -e
exit "$rc"
