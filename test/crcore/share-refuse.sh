#!/bin/bash
# What a tree still cannot take is refused before anything changes, with
# a message naming it (exit 4), and the tree runs on untraced: a pipe
# that a child of the tree shares with a process outside the tree (on fd
# 5), and a unix connection whose peer is outside the tree (a python
# server the test runs accepted it).  The same pipe held only inside the
# tree is dumped (the other tests of share-*).
set -u
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
pids=
cleanup() { for p in $pids; do kill -9 $p 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
children() { cat /proc/$1/task/*/children 2>/dev/null; }
refused() { # refused ROOT REGEX WHAT
	cr-dump -o "$tmp/img" $1 2>"$tmp/err"; rc=$?
	[ $rc = 4 ] || fail "$3: cr-dump exited $rc, not 4: $(cat "$tmp/err")"
	grep -Eq "$2" "$tmp/err" || fail "$3: cr-dump said '$(cat "$tmp/err")', expected /$2/"
	for p in $1 $(children $1); do
		grep -q "^TracerPid:[[:space:]]*0" /proc/$p/status || fail "$3: $p is still traced"
		grep -q "^State:[[:space:]]*[RS]" /proc/$p/status || fail "$3: $p is not running"
	done
	echo "PASS $3: $(cat "$tmp/err")"
}

# a pipe: fd 5 of the tree (the root and its child sleep) is the write end
# of a pipe whose reader (cat) is outside
exec 5> >(exec cat >/dev/null)
pids="$pids $!"
bash -c 'sleep 1000 & echo started > '"$tmp"'/started; wait' </dev/null >/dev/null 2>&1 &
root=$!; pids="$pids $root"
exec 5>&-
for i in $(seq 300); do [ -f "$tmp/started" ] && [ -n "$(children $root)" ] && break; sleep 0.01; done
pids="$pids $(children $root)"
refused $root "fd 5 is a pipe \(pipe:\[[0-9]+\]\) that process [0-9]+ holds too" "pipe held outside"

# a unix connection: the client is in the tree, the server outside
[ -x /usr/bin/python3 ] || { echo "SKIP unix: no python3"; exit 0; }
/usr/bin/python3 -c '
import socket, sys, time
l = socket.socket(socket.AF_UNIX); l.bind(sys.argv[1]); l.listen(1)
open(sys.argv[2], "w").close()
c, _ = l.accept(); time.sleep(1000)' "$tmp/srv" "$tmp/listening" </dev/null >/dev/null 2>&1 &
pids="$pids $!"
for i in $(seq 300); do [ -f "$tmp/listening" ] && break; sleep 0.01; done
bash -c '/usr/bin/python3 -c "
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.send(b\"x\")
open(sys.argv[2], \"w\").close(); time.sleep(1000)" '"$tmp/srv $tmp/connected"'; wait' </dev/null >/dev/null 2>&1 &
root=$!; pids="$pids $root"
for i in $(seq 300); do [ -f "$tmp/connected" ] && break; sleep 0.01; done
pids="$pids $(children $root)"
refused $root "fd [0-9]+ is a socket \(unix, socket:\[[0-9]+\]\) whose peer socket:\[[0-9]+\] is outside the tree" "unix peer outside"
