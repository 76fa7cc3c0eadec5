#!/bin/bash
# fd kinds beyond regular files (docs/fds.md): a victim holding eventfds,
# timerfds and a signalfd / pipes and a FIFO with data / an epoll watch
# list / unix socket pairs with queued data and listening sockets / UDP
# and listening TCP sockets / inotify watches / memfds / file locks is dumped with cr-dump, killed, and restored
# with cr-assemble; the restored victim checks its fds itself after
# SIGTERM and writes PASS.  Each also runs with --leave-running: the
# original passes its own checks after the dump (nothing was taken from
# its pipes and queues), then the image is restored and passes too.  The
# pipe mode also goes through a pipe (cr-dump | cr-assemble).
set -u
. "$CR_SRC/test/lib/tree.sh" # tmp, pids, fail, wait_line, gone, roundtrip

run() { # MODE FORM
	local m=$1 form=$2 v r port q
	rm -f "$tmp/out" "$tmp/img" "$tmp/pid"
	if [ $form = stdpipe ]; then
		# stdout is a pipe that another process reads: the restored
		# process gets cr-assemble's stdout instead, as a shell job does
		exec 3> >(exec cat >/dev/null)
		"$CR_BUILD/test/crcore/helpers/vf-kinds" "$tmp/out" $m </dev/null >&3 3>&- 2>&1 &
		exec 3>&-
	else
		"$CR_BUILD/test/crcore/helpers/vf-kinds" "$tmp/out" $m </dev/null >/dev/null 2>&1 &
	fi
	v=$!; pids="$pids $v"
	wait_line "$tmp/out" READY || fail "$m: the victim did not get ready"
	port=$(sed -n 's/^TCPPORT //p' "$tmp/out" | head -1)
	case $form in
	file|stdpipe)
		roundtrip file $v "$m $form";;
	pipe|running)
		# running: the dump peeks (pipes, queues, timers) without taking
		# anything: the original passes its own checks after it, then
		# the restore does
		roundtrip $form $v "$m $form";;
	taken)
		# a socket path left by the original is reused only when no live
		# socket has it: another process bound to it makes the restore
		# fail (and keeps its socket); once it is gone, the restore works
		cr-dump -o "$tmp/img" $v 2>"$tmp/err" || fail "$m: cr-dump failed: $(cat "$tmp/err")"
		wait $v 2>/dev/null
		rm -f "$tmp/vf-sock"
		/usr/bin/python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); open(sys.argv[1]+".ok","w"); time.sleep(30)' "$tmp/vf-sock" &
		h=$!; pids="$pids $h"
		for i in $(seq 50); do [ -e "$tmp/vf-sock.ok" ] && break; sleep 0.1; done
		cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" &&
			fail "$m taken: cr-assemble took a socket path another process holds"
		grep -q "a live socket has it" "$tmp/err" || fail "$m taken: cr-assemble said: $(cat "$tmp/err")"
		kill -9 $h; wait $h 2>/dev/null
		cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" || fail "$m taken: cr-assemble failed once the path was free: $(cat "$tmp/err")";;
	esac
	r=$(cat "$tmp/pid" 2>/dev/null)
	[ "$r" = "$v" ] || fail "$m $form: restored pid '$r', want $v"
	pids="$pids $r"
	if [ $m = inet ] && [ -n "$port" ] && command -v ss >/dev/null; then # listen backlog 7
		q=$(ss -Hltn "sport = :$port" | awk '{print $3}')
		[ "$q" = 7 ] || fail "inet $form: the listening TCP socket has backlog '$q', want 7"
	fi
	kill -TERM $r
	wait_line "$tmp/out" PASS || fail "$m $form: the restored victim did not pass"
	gone $r || fail "$m $form: the restored victim did not exit"
}

for m in ${FD_KINDS-event pipe epoll unix inet inotify memfd lock}; do
	run $m file
	run $m running
done
run pipe pipe
[ -x /usr/bin/python3 ] && run unix taken
run event stdpipe
echo PASS
