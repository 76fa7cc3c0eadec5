#!/bin/bash
# A real program of the fd kinds: memcached (threads, epoll, eventfds,
# pipes between its threads, a listening TCP socket) stores a key, is
# dumped with cr-dump, killed, restored with cr-assemble, and gives the
# key back over a new connection; a new key works too.
set -u
MC=/usr/bin/memcached
[ -x $MC ] || { echo "SKIP: memcached is not installed"; exit 77; }
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
pids=
cleanup() { for p in $pids; do kill -9 $p 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# one request on a new connection; prints the reply up to END/STORED
mc() {
	exec 5<>/dev/tcp/127.0.0.1/$port || return 1
	printf '%b' "$1" >&5
	timeout 2 sed -u '/^\(END\|STORED\|NOT_STORED\|ERROR\|VERSION .*\)\r\?$/q' <&5 | tr -d '\r'
	exec 5>&-
}

for try in 1 2 3 4 5; do
	port=$((20000 + (RANDOM % 20000)))
	$MC -u root -l 127.0.0.1 -p $port -U 0 -t 2 </dev/null >/dev/null 2>&1 &
	v=$!; pids="$pids $v"
	for i in $(seq 50); do mc 'version\r\n' 2>/dev/null | grep -q VERSION && break; sleep 0.05; done
	kill -0 $v 2>/dev/null && break
done
kill -0 $v 2>/dev/null || fail "memcached did not start"
[ "$(mc 'set greeting 0 0 11\r\nhello world\r\n')" = STORED ] || fail "set failed"
[ "$(mc 'get greeting\r\n' | sed -n 2p)" = "hello world" ] || fail "get failed before the dump"
cr-dump -o "$tmp/img" $v 2>"$tmp/err" || fail "cr-dump failed: $(cat "$tmp/err")"
wait $v 2>/dev/null
cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" || fail "cr-assemble failed: $(cat "$tmp/err")"
r=$(cat "$tmp/pid"); pids="$pids $r"
[ "$r" = "$v" ] || fail "restored pid '$r', want $v"
got=$(mc 'get greeting\r\n' | sed -n 2p)
[ "$got" = "hello world" ] || fail "the restored memcached gave '$got' for the key"
[ "$(mc 'set after 0 0 2\r\nok\r\n')" = STORED ] || fail "set after the restore failed"
[ "$(mc 'get after\r\n' | sed -n 2p)" = ok ] || fail "get after the restore failed"
echo PASS
