#!/usr/bin/env bash
# Start a throwaway PostgreSQL for the tests (idempotent) and print its URL on stdout.
#
# Installs Debian's postgresql when missing (root), runs its own cluster under
# ${CSVANALYST_PG_DIR:-/var/tmp/csvanalyst-pg} on port ${CSVANALYST_PG_PORT:-54329}, trust auth on
# loopback only, as the unprivileged 'postgres' user. Quick when already running.
set -euo pipefail
DIR=${CSVANALYST_PG_DIR:-/var/tmp/csvanalyst-pg}
PORT=${CSVANALYST_PG_PORT:-54329}
URL="postgresql://postgres@127.0.0.1:${PORT}/csvanalyst_test"

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(bindir)" ]; then
    bash "$(dirname "$0")/install-system-packages.sh" postgresql >&2
fi
BIN=$(bindir)
[ -n "$BIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
    if [ ! -s "$DIR/PG_VERSION" ]; then
        mkdir -p "$DIR"
        [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DIR"
        as_pg "$BIN/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    as_pg "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 \
        -o "-p $PORT -h 127.0.0.1 -k $DIR -c fsync=off -c full_page_writes=off" start >/dev/null
fi
if ! "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='csvanalyst_test'" | grep -q 1; then
    "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres csvanalyst_test
fi
echo "$URL"
