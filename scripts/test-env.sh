#!/usr/bin/env bash
# Prepares a Debian/Ubuntu machine for the test suite; safe to run again.
#  - installs what the tests need when it is absent (SIPp, PostgreSQL, Redis);
#  - makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer, starting
#    the machine's own instances, or throwaway ones when there are none.
# Source it (it exports E173GW_TEST_PG_URL and E173GW_TEST_REDIS_URL) or run it.
set -euo pipefail

log() { printf 'test-env: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root to run: $*"; return 1; fi
}

need_pkgs=()
command -v sipp >/dev/null 2>&1 || need_pkgs+=(sip-tester)
command -v pg_ctlcluster >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
    || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql)
command -v psql >/dev/null 2>&1 || need_pkgs+=(postgresql-client)
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_pkgs+=(redis-tools)
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
# The modem page's browser test.
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need_pkgs+=(chromium)
# The docker compose files' checks (scripts/check-docker): promtool and compose v1.
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || need_pkgs+=(docker-compose)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    log "installing ${need_pkgs[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- PostgreSQL ---
pg_url="postgres://postgres@127.0.0.1:5432/test"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/*/main >/dev/null 2>&1; then
        log "starting the machine's PostgreSQL"
        as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
    fi
fi
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null | grep -q 1 \
        || psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE test" 2>/dev/null || true
else
    initdb_bin=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -1)
    bindir=$(dirname "$initdb_bin")
    dir=$(mktemp -d /tmp/e173gw-pg.XXXXXX)
    port=$(free_port)
    log "starting a throwaway PostgreSQL on port $port in $dir"
    owner=postgres; id postgres >/dev/null 2>&1 || owner=$(id -un)
    chown "$owner" "$dir" 2>/dev/null || true
    run_pg() { if [ "$(id -u)" -eq 0 ] && [ "$owner" = postgres ]; then su postgres -c "$*"; else bash -c "$*"; fi; }
    run_pg "$bindir/initdb -D $dir/data -U postgres -A trust >/dev/null"
    run_pg "$bindir/pg_ctl -D $dir/data -o '-p $port -k $dir -c listen_addresses=127.0.0.1' -l $dir/log -w start >/dev/null"
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE test"
    pg_url="postgres://postgres@127.0.0.1:$port/test"
fi
export E173GW_TEST_PG_URL="$pg_url"

# --- Redis ---
redis_url="redis://127.0.0.1:6379"
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting Redis on 6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null 2>&1 || true
    for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.25; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    port=$(free_port)
    log "starting a throwaway Redis on port $port"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no >/dev/null
    redis_url="redis://127.0.0.1:$port"
fi
export E173GW_TEST_REDIS_URL="$redis_url"
log "PostgreSQL at $E173GW_TEST_PG_URL, Redis at $E173GW_TEST_REDIS_URL, sipp $(command -v sipp || echo missing)"
