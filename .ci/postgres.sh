#!/usr/bin/env bash
# Install (Debian packages) and start a local PostgreSQL with PostGIS for the register tests,
# then print the URL the tests read from RISKMAP_TEST_POSTGRES_URL. Idempotent; loopback only.
# Use:  export RISKMAP_TEST_POSTGRES_URL="$(bash .ci/postgres.sh)"
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql postgis >/dev/null 2>&1 \
        || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql \
           "postgresql-$(ls /usr/lib/postgresql | sort -n | tail -1)-postgis-3" >/dev/null
fi
version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
    pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main start >&2 2>/dev/null || true
for _ in $(seq 1 30); do
    su postgres -c "pg_isready -q" && break
    sleep 1
done
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'riskmap'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE ROLE riskmap LOGIN PASSWORD 'riskmap'\"" >&2
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'riskmap'\"" | grep -q 1 \
    || su postgres -c "createdb -O riskmap riskmap" >&2
su postgres -c "psql -q -d riskmap -c 'CREATE EXTENSION IF NOT EXISTS postgis'" >&2 || true
echo "postgresql+psycopg://riskmap:riskmap@127.0.0.1:5432/riskmap"
