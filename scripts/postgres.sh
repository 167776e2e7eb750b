#!/usr/bin/env bash
# Starts a PostgreSQL server for the tests (idempotent) and prints its URL.
# Uses the distribution's cluster when one exists; creates the role and database once.
set -euo pipefail
version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
[ -n "$version" ] || { echo "PostgreSQL is not installed (scripts/system-deps.sh test installs it)" >&2; exit 1; }
if command -v pg_lsclusters >/dev/null 2>&1 && pg_lsclusters -h | grep -q .; then
  cluster=$(pg_lsclusters -h | head -1 | awk '{print $2}')
  pg_ctlcluster "$version" "$cluster" start >/dev/null 2>&1 || true
  port=$(pg_lsclusters -h | head -1 | awk '{print $3}')
else
  command -v pg_createcluster >/dev/null 2>&1 && pg_createcluster "$version" main --start >/dev/null
  port=5432
fi
for _ in $(seq 1 30); do
  su postgres -c "psql -p $port -tAc 'SELECT 1'" >/dev/null 2>&1 && break
  sleep 0.5
done
su postgres -c "psql -p $port -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'tinjau'\"" | grep -q 1 \
  || su postgres -c "psql -p $port -qc \"CREATE ROLE tinjau LOGIN CREATEDB PASSWORD 'tinjau'\""
su postgres -c "psql -p $port -tAc \"SELECT 1 FROM pg_database WHERE datname = 'tinjau'\"" | grep -q 1 \
  || su postgres -c "psql -p $port -qc 'CREATE DATABASE tinjau OWNER tinjau'"
echo "postgres://tinjau:tinjau@127.0.0.1:$port/tinjau"
