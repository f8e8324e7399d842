#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the queue tests, from Debian's
# postgresql package: initdb and pg_ctl as an unprivileged user (postgres
# when run as root), listening on a Unix socket only (no TCP port, so
# parallel CI jobs cannot collide; in a short /tmp directory, as a socket
# path is limited to 107 bytes), trust authentication for the local
# socket. The conninfo for libpq goes to DIR/conninfo.
# usage: pg_cluster.sh start DIR | stop DIR
set -euo pipefail
cmd=${1:?usage: pg_cluster.sh start|stop DIR}
dir=${2:?usage: pg_cluster.sh start|stop DIR}
bindir=$(pg_config --bindir 2>/dev/null || true)
for v in 17 16 15 14 13; do
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    [ -x "/usr/lib/postgresql/$v/bin/initdb" ] && bindir=/usr/lib/postgresql/$v/bin
  fi
done
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "pg_cluster.sh: no initdb (install Debian's postgresql package)" >&2
  exit 1
fi
as_user=()
if [ "$(id -u)" -eq 0 ]; then
  as_user=(runuser -u postgres --) # initdb refuses to run as root
fi
case "$cmd" in
start)
  "$0" stop "$dir"
  mkdir -p "$dir/data"
  sock=$(mktemp -d /tmp/medshim-pg.XXXXXX)
  echo "$sock" >"$dir/socketdir"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$dir" "$sock"; fi
  "${as_user[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U medshim \
      --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  "${as_user[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-c listen_addresses='' -k $sock -c fsync=on" start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  echo "host=$sock user=medshim dbname=postgres" >"$dir/conninfo"
  chmod a+r "$dir/conninfo"
  ;;
stop)
  if [ -f "$dir/data/postmaster.pid" ]; then
    "${as_user[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
  fi
  if [ -f "$dir/socketdir" ]; then rm -rf "$(cat "$dir/socketdir")"; fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: pg_cluster.sh start|stop DIR" >&2
  exit 64
  ;;
esac
