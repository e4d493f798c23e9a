#!/usr/bin/env bash
# Stops the embedded PostgreSQL server of a payrun home without building
# payrun (the fallback of `make test-db-stop`). Usage: .ci/pg-stop.sh HOME
set -euo pipefail
home=${1:?usage: .ci/pg-stop.sh HOME}
data=$(readlink -f "$home/pg" 2>/dev/null || true)
[ -n "$data" ] && [ -f "$data/postmaster.pid" ] || { echo "no running server in $home"; exit 0; }
ver=$(cat "$data/PG_VERSION")
cd /  # the postgres user may not be allowed into the current directory
pg_ctl=/usr/lib/postgresql/$ver/bin/pg_ctl
[ -x "$pg_ctl" ] || pg_ctl=$(command -v pg_ctl)
if [ "$(id -u)" -eq 0 ]; then
  runuser -u postgres -- "$pg_ctl" stop -D "$data" -m fast -w -s || true
else
  "$pg_ctl" stop -D "$data" -m fast -w -s || true
fi
echo "stopped the server in $data"
