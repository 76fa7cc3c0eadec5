#!/bin/bash
# A pre-forking server: vs-sock prefork (a parent listening on TCP and on
# a unix socket, three children blocked in accept() on the TCP socket and
# one on the unix one, each counting the clients it served) is dumped
# with its workers idle in accept(), killed, and restored by cr-assemble.
# The listening sockets are one each again, shared by the parent and its
# workers (ss shows one TCP listener on the port); new clients that
# connect after the restore, over TCP and unix, are served by the
# restored workers, whose counters go on from where they were.  Then the
# same through `cr-dump | cr-assemble`.  The restored tree is killed by
# pid at the end.
set -u
. "$CR_SRC/test/lib/tree.sh"
# ask KIND(tcp|unix) N: N clients, one line each; prints the replies
ask() {
	python3 - "$1" "$2" "$(cat "$tmp/d/port")" "$tmp/d/srv" <<'PY'
import socket, sys
kind, n, port, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for i in range(n):
    if kind == "tcp":
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
    else:
        s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(path)
    s.sendall(b"hello %d\n" % i)
    r = b""
    while not r.endswith(b"\n"):
        b = s.recv(256)
        if not b: break
        r += b
    s.close()
    print(r.decode().strip())
PY
}
# check REPLIES BEFORE: every reply from a worker of ours, its count past
# what that worker had served before
check() {
	local line pid n
	while read -r line; do
		case "$line" in pid=*" n="*" hello "*) ;; *) fail "$form: reply '$line'";; esac
		pid=${line#pid=}; pid=${pid%% *}; n=${line#* n=}; n=${n%% *}
		echo " $workers " | grep -q " $pid " || fail "$form: served by $pid, not a worker ($workers)"
		before=$(grep "^pid=$pid " "$2" | sed 's/.* n=\([0-9]*\).*/\1/' | sort -n | tail -1)
		[ -z "$before" ] || [ "$n" -gt "$before" ] || fail "$form: worker $pid counts $n, it had served $before"
	done <"$1"
}

for form in file stream; do
	rm -rf "$tmp/d" "$tmp/out"; mkdir "$tmp/d"
	"$CR_BUILD/test/crcore/helpers/vt-reaper" "$CR_BUILD/test/crcore/helpers/vs-sock" prefork "$tmp/d" 3 \
		</dev/null >"$tmp/out" 2>&1 &
	reaper=$!
	for i in $(seq 300); do [ -f "$tmp/d/port" ] && break; sleep 0.01; done
	[ -f "$tmp/d/port" ] || fail "$form: the server did not start"
	root=$(cat /proc/$reaper/task/$reaper/children | tr -d ' ')
	workers=$(cat /proc/$root/task/$root/children)
	[ "$(echo $workers | wc -w)" = 4 ] || fail "$form: $(echo $workers | wc -w) workers, not 4"
	{ ask tcp 8; ask unix 2; } >"$tmp/before" || fail "$form: the server did not answer before the dump"
	[ "$(wc -l <"$tmp/before")" = 10 ] || fail "$form: $(wc -l <"$tmp/before") answers before the dump"
	sleep 0.05 # every worker back in accept()
	if [ $form = stream ]; then
		cr-dump $root 2>"$tmp/err" | cr-assemble 2>"$tmp/err2" || fail "$form: $(cat "$tmp/err" "$tmp/err2")"
	else
		cr-dump -o "$tmp/img" $root 2>"$tmp/err" || fail "$form: dump: $(cat "$tmp/err")"
		cr-assemble -i "$tmp/img" 2>"$tmp/err" || fail "$form: cr-assemble: $(cat "$tmp/err")"
	fi
	for p in $root $workers; do [ -d /proc/$p ] || fail "$form: $p was not restored"; done
	# one TCP listener on the port, held by the parent and its workers
	port=$(cat "$tmp/d/port")
	[ "$(ss -Hltn "sport = :$port" | wc -l)" = 1 ] || fail "$form: $(ss -Hltn "sport = :$port" | wc -l) TCP listeners on $port"
	l=$(ls -l /proc/$root/fd | grep -o 'socket:\[[0-9]*\]' | sort)
	for p in $workers; do
		[ -n "$(comm -12 <(echo "$l") <(ls -l /proc/$p/fd | grep -o 'socket:\[[0-9]*\]' | sort))" ] ||
			fail "$form: worker $p shares no listening socket with the parent"
	done
	{ ask tcp 8; ask unix 2; } >"$tmp/after" || fail "$form: the restored server did not answer"
	[ "$(wc -l <"$tmp/after")" = 10 ] || fail "$form: $(wc -l <"$tmp/after") answers after the restore"
	check "$tmp/after" "$tmp/before"
	grep -q FAIL "$tmp/out" && fail "$form: a worker failed"
	echo "PASS $form: 10 new clients served by $(sed 's/ .*//' "$tmp/after" | sort -u | wc -l) restored workers, counts going on"
	for p in $(descendants $root) $root; do kill -9 $p 2>/dev/null; done
	root=
	wait $reaper 2>/dev/null
done
