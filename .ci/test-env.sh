#!/usr/bin/env bash
# Prepare this machine for the whole test suite: system packages, a running PostgreSQL, the
# test role and database. Idempotent, quick when everything is present, needs no terminal.
#
# Settings (environment): PG_VERSION (default 15, else the newest installed), PG_CLUSTER (main),
# PG_PORT (5432).
set -euo pipefail

PACKAGES=(postgresql xvfb xauth libgl1-mesa-dri libmtdev1 fonts-wqy-microhei chromium chromium-driver)
PG_ROLE=cgt
PG_PASSWORD=cgt
PG_DATABASE=cgt_test
PG_CLUSTER="${PG_CLUSTER:-main}"
PG_PORT="${PG_PORT:-5432}"

say() { printf '[test-env] %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
as_postgres() {
    # From / so that psql does not complain about an unreadable working directory.
    (cd / && if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi)
}

# --- system packages ------------------------------------------------------------------------
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# The project needs Python 3.11 with venv; Debian ships venv support in a separate package.
python=$(command -v python3.11 || true)
if [ -z "$python" ]; then
    missing+=(python3.11 python3.11-venv)
elif [ "$(readlink -f "$python")" = /usr/bin/python3.11 ] && ! dpkg -s python3.11-venv >/dev/null 2>&1; then
    missing+=(python3.11-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" </dev/null
fi

# --- PostgreSQL server ----------------------------------------------------------------------
if [ -z "${PG_VERSION:-}" ]; then
    if [ -d /usr/lib/postgresql/15 ]; then
        PG_VERSION=15
    else
        PG_VERSION=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
    fi
fi
if ! pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c {found=1} END {exit !found}'; then
    say "creating PostgreSQL $PG_VERSION cluster $PG_CLUSTER on port $PG_PORT"
    as_root pg_createcluster "$PG_VERSION" "$PG_CLUSTER" --port "$PG_PORT" >/dev/null
fi
if ! as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" status >/dev/null 2>&1; then
    say "starting PostgreSQL $PG_VERSION/$PG_CLUSTER"
    as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
fi
for _ in $(seq 60); do
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
    sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || { say "PostgreSQL not accepting connections on 127.0.0.1:$PG_PORT"; exit 1; }

# --- role and database ----------------------------------------------------------------------
psql_admin() { as_postgres psql -X -q -At -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" != 1 ]; then
    say "creating role $PG_ROLE"
    psql_admin -c "CREATE ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
fi
# Tests create and drop scratch databases, so the role needs CREATEDB even if made by hand.
if [ "$(psql_admin -c "SELECT rolcreatedb AND rolcanlogin FROM pg_roles WHERE rolname = '$PG_ROLE'")" != t ]; then
    psql_admin -c "ALTER ROLE $PG_ROLE LOGIN CREATEDB"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]; then
    say "creating database $PG_DATABASE"
    psql_admin -c "CREATE DATABASE $PG_DATABASE OWNER $PG_ROLE"
fi
