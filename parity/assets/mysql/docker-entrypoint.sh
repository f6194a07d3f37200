#!/bin/bash
# Entrypoint of the MariaDB stand-in for the official mysql image (hosts with
# no image registry). Same env contract as mysql:8.0:
#   MYSQL_ROOT_PASSWORD | MYSQL_ALLOW_EMPTY_PASSWORD=yes | MYSQL_RANDOM_ROOT_PASSWORD=yes
#   MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD (optional; user gets ALL on the DB, from '%')
#   MYSQL_ROOT_HOST (default '%')
#   /docker-entrypoint-initdb.d/*.sql|*.sql.gz|*.sh run once, on first start.
# First start: initialise the datadir, then run a temporary server with
# networking off, create db/users, stop it, and exec the real server. The
# port opens only when the users exist, so a TCP login check is a correct
# readiness probe (see mysql-healthcheck). Passwords are never printed.
set -Eeuo pipefail

log() { printf '%s [Entrypoint]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

# "docker run IMAGE --some-flag" -> mariadbd --some-flag
if [ "${1:0:1}" = '-' ]; then
    set -- mariadbd "$@"
fi

# Escape a value for a single-quoted SQL string literal.
sql_str() {
    local s=${1//\\/\\\\}
    s=${s//\'/\\\'}
    printf "'%s'" "$s"
}
# Escape an identifier for backticks.
sql_ident() {
    # shellcheck disable=SC2016  # literal backticks
    printf '`%s`' "${1//\`/\`\`}"
}

init_datadir() {
    if [ -z "${MYSQL_ROOT_PASSWORD:-}" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] \
        && [ -z "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
        die "database is uninitialized and no root password option is given: set MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD or MYSQL_RANDOM_ROOT_PASSWORD"
    fi
    if [ -n "${MYSQL_USER:-}" ] && [ "${MYSQL_USER}" = root ]; then
        die "MYSQL_USER=root is not allowed; use MYSQL_ROOT_PASSWORD for root"
    fi
    if [ -n "${MYSQL_USER:-}" ] && [ -z "${MYSQL_PASSWORD:-}" ]; then
        die "MYSQL_USER is set but MYSQL_PASSWORD is empty"
    fi

    log "initializing database files in $DATADIR"
    mariadb-install-db --datadir="$DATADIR" --skip-test-db --skip-name-resolve \
        --auth-root-authentication-method=normal --skip-log-bin >/dev/null

    log "starting temporary server (no networking)"
    "$@" --skip-networking --socket="$SOCKET" --skip-log-bin &
    local pid=$!

    local i
    for i in $(seq 1 300); do
        if mariadb --protocol=socket --socket="$SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
            break
        fi
        kill -0 "$pid" 2>/dev/null || die "temporary server exited during start-up"
        sleep 0.1
    done
    [ "$i" -lt 300 ] || die "temporary server did not start in 30 s"

    local root_pw=${MYSQL_ROOT_PASSWORD:-}
    if [ -n "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ] && [ -z "$root_pw" ]; then
        root_pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n' | head -c 24)
        log "generated a random root password (not shown)"
    fi
    local root_host=${MYSQL_ROOT_HOST:-%}

    {
        echo "SET @@SESSION.SQL_LOG_BIN=0;"
        # install-db also creates root@127.0.0.1, root@::1 and
        # root@<container hostname> without a password: keep only
        # root@localhost (socket) and root@MYSQL_ROOT_HOST.
        echo "DROP USER IF EXISTS ''@'localhost', ''@$(sql_str "$(hostname)");"
        local h
        for h in 127.0.0.1 ::1 "$(hostname)"; do
            [ "$h" = "$root_host" ] || echo "DROP USER IF EXISTS 'root'@$(sql_str "$h");"
        done
        echo "DROP DATABASE IF EXISTS test;"
        if [ "$root_host" != localhost ]; then
            echo "CREATE USER IF NOT EXISTS 'root'@$(sql_str "$root_host") IDENTIFIED BY $(sql_str "$root_pw");"
            echo "GRANT ALL ON *.* TO 'root'@$(sql_str "$root_host") WITH GRANT OPTION;"
        fi
        if [ -n "${MYSQL_DATABASE:-}" ]; then
            echo "CREATE DATABASE IF NOT EXISTS $(sql_ident "$MYSQL_DATABASE") CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
        fi
        if [ -n "${MYSQL_USER:-}" ]; then
            echo "CREATE USER $(sql_str "$MYSQL_USER")@'%' IDENTIFIED BY $(sql_str "$MYSQL_PASSWORD");"
            if [ -n "${MYSQL_DATABASE:-}" ]; then
                echo "GRANT ALL ON $(sql_ident "$MYSQL_DATABASE").* TO $(sql_str "$MYSQL_USER")@'%';"
            fi
        fi
        echo "FLUSH PRIVILEGES;"
    } | mariadb --protocol=socket --socket="$SOCKET" -uroot --binary-mode \
        || die "creating database/users failed"
    [ -n "${MYSQL_DATABASE:-}" ] && log "created database $MYSQL_DATABASE"
    [ -n "${MYSQL_USER:-}" ] && log "created user $MYSQL_USER@'%'"

    local f
    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        local client=(mariadb --protocol=socket --socket="$SOCKET" -uroot ${MYSQL_DATABASE:+"$MYSQL_DATABASE"})
        # shellcheck disable=SC1090  # user-supplied init script
        case "$f" in
            *.sh)     log "running $f"; . "$f" ;;
            *.sql)    log "running $f"; "${client[@]}" < "$f" ;;
            *.sql.gz) log "running $f"; gunzip -c "$f" | "${client[@]}" ;;
            *)        log "ignoring $f" ;;
        esac
    done

    # Last: root@localhost gets its password (until now the socket session
    # needed none).
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_str "$root_pw"); FLUSH PRIVILEGES;" \
        | mariadb --protocol=socket --socket="$SOCKET" -uroot --binary-mode \
        || die "setting the root password failed"

    log "stopping temporary server"
    kill -TERM "$pid"
    wait "$pid" || true
    log "initialization complete"
}

if [ "$1" = mariadbd ] || [ "$1" = mysqld ]; then
    if [ "$(id -u)" = 0 ]; then
        die "run as the mysql user (the image's default USER), not root"
    fi
    if [ ! -d "$DATADIR/mysql" ]; then
        init_datadir "$@"
    fi
    log "starting mariadbd on 0.0.0.0:3306"
fi

exec "$@"
