#!/usr/bin/env bash
# localpg.sh: the private PostgreSQL cluster used by the demo, the tests and
# by scoresync when no database URL is configured. Unix socket only: it never
# listens on a TCP port, so nothing outside this machine can reach it.
#
#   scripts/localpg.sh start  [DIR]   initdb if needed, start, create database "scoresync"
#   scripts/localpg.sh stop   [DIR]
#   scripts/localpg.sh status [DIR]   exit 0 when running, 3 when not
#   scripts/localpg.sh url    [DIR]   prints the libpq URL
#
# DIR defaults to $SS_PG_DIR, else ./.scoresync/pg. Layout: DIR/data (cluster),
# DIR/run (socket), DIR/postgres.log, DIR/port (the port the cluster uses).
# Environment: SS_PG_PORT (default 54329), SS_PG_FAST=1 turns fsync off (tests
# only: a crash can corrupt the cluster).
# As root, initdb and postgres refuse to run, so they run as user "postgres";
# when DIR is not reachable by that user a directory under /tmp is used and a
# note says so.
set -euo pipefail

prog=localpg.sh
die() {
    echo "$prog: error: $*" >&2
    exit 1
}
note() { echo "$prog: $*" >&2; }

usage() {
    sed -n '5,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

cmd=${1:-}
[ -n "$cmd" ] || usage
dir_arg=${2:-${SS_PG_DIR:-./.scoresync/pg}}

find_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null || true)
        if [ -n "$d" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then
            echo "$d"
            return 0
        fi
    fi
    # Newest installed major version first.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then
            echo "$d"
            return 0
        fi
    done
    d=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")
    if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then
        echo "$d"
        return 0
    fi
    return 1
}

is_root=0
[ "$(id -u)" -eq 0 ] && is_root=1

# Runs a server-side program as the cluster owner.
as_owner() {
    if [ "$is_root" -eq 1 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

abspath() {
    case "$1" in
    /*) echo "$1" ;;
    *) echo "$PWD/${1#./}" ;;
    esac
}

short_hash() { printf '%s' "$1" | sha256sum | cut -c1-12; }

# Sets DIR: the requested directory, or (as root, when user postgres cannot
# reach it) a stable fallback under /tmp derived from the requested path.
# create=1 makes the directory; otherwise nothing is changed on disk.
resolve_dir() {
    local create=$1 req
    req=$(abspath "$dir_arg")
    DIR=$req
    if [ "$create" -eq 1 ]; then
        mkdir -p "$DIR"
    fi
    if [ "$is_root" -eq 1 ]; then
        id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user to own the cluster"
        if [ "$create" -eq 1 ]; then
            chown postgres: "$DIR"
        fi
        if ! runuser -u postgres -- test -d "$DIR" -a -x "$DIR" -a -w "$DIR" 2>/dev/null; then
            DIR=/tmp/scoresync-pg-$(short_hash "$req")
            if [ "$create" -eq 1 ]; then
                note "note: user postgres cannot reach $req; using $DIR instead"
                mkdir -p "$DIR"
                chmod 755 "$DIR"
                chown postgres: "$DIR"
            fi
        fi
    fi
    DATA=$DIR/data
    LOG=$DIR/postgres.log
    SOCK=$DIR/run
    # A Unix socket path is limited to ~107 bytes.
    if [ ${#SOCK} -gt 80 ]; then
        SOCK=/tmp/scoresync-pg-run-$(short_hash "$DIR")
    fi
}

port_of() {
    if [ -f "$DIR/port" ]; then
        cat "$DIR/port"
    else
        echo "${SS_PG_PORT:-54329}"
    fi
}

is_running() {
    [ -f "$DATA/PG_VERSION" ] || return 1
    as_owner "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

url_for() {
    echo "postgresql:///scoresync?host=$SOCK&port=$(port_of)&user=postgres"
}

do_start() {
    resolve_dir 1
    # Serialises concurrent starts (demo and scoresync may both start it).
    exec 9>"$DIR/.lock"
    if command -v flock >/dev/null 2>&1; then
        flock 9
    fi
    if is_running; then
        note "already running in $DATA (port $(port_of))"
        ensure_db
        return 0
    fi
    local port=${SS_PG_PORT:-}
    [ -n "$port" ] || port=$(port_of)
    case "$port" in
    '' | *[!0-9]*) die "SS_PG_PORT must be a number, got '$port'" ;;
    esac
    if [ ! -f "$DATA/PG_VERSION" ]; then
        note "initdb in $DATA"
        mkdir -p "$DATA"
        [ "$is_root" -eq 1 ] && chown postgres: "$DATA"
        chmod 700 "$DATA"
        as_owner "$BIN/initdb" -D "$DATA" --auth=trust -U postgres --encoding=UTF8 \
            --locale=C >"$DIR/initdb.log" 2>&1 ||
            {
                cat "$DIR/initdb.log" >&2
                die "initdb failed"
            }
        echo "include_if_exists = 'scoresync.conf'" >>"$DATA/postgresql.conf"
    fi
    mkdir -p "$SOCK"
    chmod 755 "$SOCK"
    [ "$is_root" -eq 1 ] && chown postgres: "$SOCK" "$DIR/.lock"
    {
        echo "# written by scripts/localpg.sh on every start"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$SOCK'"
        echo "port = $port"
        echo "max_wal_size = '1GB'"
        if [ "${SS_PG_FAST:-0}" = 1 ]; then
            # Tests only: a crash may lose or corrupt data.
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } >"$DATA/scoresync.conf"
    [ "$is_root" -eq 1 ] && chown postgres: "$DATA/scoresync.conf"
    echo "$port" >"$DIR/port"
    touch "$LOG"
    [ "$is_root" -eq 1 ] && chown postgres: "$LOG"
    # 9>&-: the server must not inherit (and hold forever) the start lock.
    if ! as_owner "$BIN/pg_ctl" start -w -t 60 -D "$DATA" -l "$LOG" >/dev/null 9>&-; then
        tail -n 20 "$LOG" >&2 || true
        die "PostgreSQL did not start (log: $LOG)"
    fi
    note "started PostgreSQL in $DATA on socket $SOCK port $port"
    ensure_db
}

psql_admin() {
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$(port_of)" -U postgres -d postgres "$@"
}

ensure_db() {
    local have
    have=$(psql_admin -Atc "SELECT 1 FROM pg_database WHERE datname = 'scoresync'")
    if [ "$have" != 1 ]; then
        # Two concurrent starts can both get here; a duplicate is harmless.
        psql_admin -c "CREATE DATABASE scoresync" >/dev/null 2>&1 ||
            [ "$(psql_admin -Atc "SELECT 1 FROM pg_database WHERE datname = 'scoresync'")" = 1 ] ||
            die "could not create database scoresync"
    fi
}

do_stop() {
    resolve_dir 0
    if is_running; then
        as_owner "$BIN/pg_ctl" stop -w -m fast -D "$DATA" >/dev/null
        note "stopped PostgreSQL in $DATA"
    else
        note "not running ($DATA)"
    fi
}

do_status() {
    resolve_dir 0
    if is_running; then
        echo "running: $DATA port $(port_of) socket $SOCK"
        return 0
    fi
    echo "not running: $DATA"
    return 3
}

BIN=$(find_bindir) || die "PostgreSQL server binaries not found (pg_config --bindir, /usr/lib/postgresql/*/bin)"
PSQL=$BIN/psql
[ -x "$PSQL" ] || PSQL=$(command -v psql) || die "psql not found"

case "$cmd" in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
url)
    resolve_dir 0
    url_for
    ;;
-h | --help | help) usage ;;
*) usage ;;
esac
