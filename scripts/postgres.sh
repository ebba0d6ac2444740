#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests that run the metadata store on PostgreSQL (scripts/test.sh).
# Usage:
#   bash scripts/postgres.sh install            install Debian's PostgreSQL unless its server binaries are present
#                                               (as root or with passwordless sudo; exit 3 when neither is possible)
#   bash scripts/postgres.sh start DIR [DB...]  initialise a cluster in DIR (made if missing; best under /tmp: the
#                                               server runs as the `postgres` user when we are root, as we are
#                                               otherwise), start it on a free 127.0.0.1 port and create the
#                                               databases (default: mixhouse); print one SQLAlchemy URL per database
#   bash scripts/postgres.sh stop DIR           stop that cluster and delete DIR (quietly; fine if never started)
# The cluster trusts every local connection and skips fsync: it is for tests only, never for data you keep.
set -euo pipefail

SUPERUSER=mixhouse

die() { echo "postgres.sh: $*" >&2; exit 1; }

# Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/VERSION/bin: take the newest.
bindir() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$found" ] && [ -x "$found/initdb" ] && [ -x "$found/pg_ctl" ]; then
        echo "$found"
    elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    else
        return 1
    fi
}

install() {
    if bindir >/dev/null; then
        return 0
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            echo "postgres.sh: PostgreSQL is not installed, and installing it needs root or passwordless sudo" >&2
            exit 3
        fi
    fi
    command -v apt-get >/dev/null 2>&1 || { echo "postgres.sh: no apt-get to install PostgreSQL with" >&2; exit 3; }
    echo "postgres.sh: apt-get install postgresql" >&2
    # Debian's package would create and start a cluster of its own ("main", port 5432); ours are made on demand.
    $sudo mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.d/mixhouse-tests.conf >/dev/null
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >&2
    bindir >/dev/null || die "PostgreSQL was installed but initdb and pg_ctl are not found"
}

# The server refuses to run as root: then it runs as the `postgres` system user (made if missing).
owner() {
    if [ "$(id -u)" -ne 0 ]; then
        id -un
        return
    fi
    id postgres >/dev/null 2>&1 || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
    echo postgres
}

as_owner() {
    local user=$1
    shift
    if [ "$user" = "$(id -un)" ]; then
        "$@"
    else
        runuser -u "$user" -- "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local dir=${1:?usage: postgres.sh start DIR [DB...]}
    shift
    local databases=("$@")
    [ ${#databases[@]} -gt 0 ] || databases=(mixhouse)
    local bin user port attempt
    bin=$(bindir) || die "PostgreSQL is not installed (run: bash scripts/postgres.sh install)"
    user=$(owner)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ ! -e "$dir/data" ] || die "$dir/data exists: stop that cluster first"
    chown "$user" "$dir"
    cd "$dir"  # the owner may not be allowed into the caller's directory
    as_owner "$user" "$bin/initdb" -D "$dir/data" -U "$SUPERUSER" --auth=trust --encoding=UTF8 --no-locale \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    for attempt in 1 2 3; do  # another process may take the free port before the server binds it
        port=$(free_port)
        if as_owner "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "-p $port \
            -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
            -c max_connections=200 -c shared_buffers=64MB" start >/dev/null; then
            break
        fi
        [ "$attempt" -lt 3 ] || { tail -n 20 "$dir/server.log" >&2; die "the server did not start"; }
    done
    echo "$port" >"$dir/port"
    echo "$user" >"$dir/owner"
    local db
    for db in "${databases[@]}"; do
        "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$SUPERUSER" "$db" || die "createdb $db failed"
        echo "postgresql+psycopg://$SUPERUSER@127.0.0.1:$port/$db"
    done
}

stop() {
    local dir=${1:?usage: postgres.sh stop DIR}
    [ -d "$dir" ] || return 0
    if [ -f "$dir/data/postmaster.pid" ]; then
        local bin user
        bin=$(bindir)
        user=$(cat "$dir/owner" 2>/dev/null || owner)
        (cd "$dir" && as_owner "$user" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1) || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    install) install ;;
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: bash scripts/postgres.sh install | start DIR [DB...] | stop DIR" >&2; exit 2 ;;
esac
