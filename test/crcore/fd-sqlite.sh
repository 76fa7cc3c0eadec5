#!/bin/bash
# A real program reading from a FIFO: sqlite3 reads SQL from a FIFO that
# this script keeps open for writing; it is dumped between two batches,
# killed and restored; the restored sqlite3 reads the next batch from the
# same FIFO (the FIFO is shared with this script: its buffer stays with
# it, the image holds none) and its answers are right (the database and
# the table it made, nothing lost, nothing read twice).
set -u
SQ=/usr/bin/sqlite3
[ -x $SQ ] || { echo "SKIP: sqlite3 is not installed"; exit 77; }
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
pids=
cleanup() { exec 4>&- 2>/dev/null; for p in $pids; do kill -9 $p 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; sed 's/^/  out: /' "$tmp/out" 2>/dev/null; exit 1; }
wait_line() { for i in $(seq 50); do grep -qx "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

mkfifo "$tmp/sql"
$SQ "$tmp/db" <"$tmp/sql" >"$tmp/out" 2>&1 &
v=$!; pids="$pids $v"
exec 4>"$tmp/sql"
printf 'create table t(x);\ninsert into t values (1),(2),(3);\nselect sum(x) from t;\nselect '\''mark1'\'';\n' >&4
wait_line "$tmp/out" mark1 || fail "sqlite3 did not answer the first batch"
cr-dump -o "$tmp/img" $v 2>"$tmp/err" || fail "cr-dump failed: $(cat "$tmp/err")"
wait $v 2>/dev/null
# (no reader now: a write would get SIGPIPE)
cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" || fail "cr-assemble failed: $(cat "$tmp/err")"
r=$(cat "$tmp/pid"); pids="$pids $r"
[ "$r" = "$v" ] || fail "restored pid '$r', want $v"
printf 'insert into t values (10);\nselect sum(x) from t;\nselect '\''mark2'\'';\n' >&4
wait_line "$tmp/out" mark2 || fail "the restored sqlite3 did not answer"
exec 4>&-
[ "$(cat "$tmp/out" | tr '\n' ' ')" = "6 mark1 16 mark2 " ] || fail "answers: $(cat "$tmp/out" | tr '\n' ' ')"
echo PASS
