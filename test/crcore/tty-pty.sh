#!/bin/bash
# ptys held by one process (docs/ttys.md): vy-pty holds pty A (master in
# packet mode and O_NONBLOCK, slave; canonical termios with echo, its
# window size; a line and a half typed and not read, output not read) and
# pty B (a locked master alone).  It is dumped, killed and restored; the
# restored victim checks every setting and reads exactly the buffered
# data (nothing echoed twice, the half line still half) after SIGTERM.
# Also with --leave-running (the original gets its data back and passes
# first), through a pipe, and with the old pty number taken by another
# process (the restored pair gets another number: the victim checks that
# its slave is its master's).
set -u
. "$CR_SRC/test/lib/tree.sh" # tmp, pids, fail, wait_line, gone, roundtrip

run() { # FORM
	local form=$1 v r h a
	rm -f "$tmp/out" "$tmp/img" "$tmp/pid"
	"$CR_BUILD/test/crcore/helpers/vy-pty" "$tmp/out" pty </dev/null >/dev/null 2>&1 &
	v=$!; pids="$pids $v"
	wait_line "$tmp/out" READY || fail "$form: the victim did not get ready"
	a=$(sed -n 's/^PTS //p' "$tmp/out" | head -1)
	case $form in
	taken)
		cr-dump -o "$tmp/img" $v 2>"$tmp/err" || fail "$form: cr-dump failed: $(cat "$tmp/err")"
		wait $v 2>/dev/null
		# another process takes the lowest free pty numbers, A's among them
		/usr/bin/python3 -c 'import os,sys,time; p=[os.openpty() for i in range(4)]; open(sys.argv[1],"w"); time.sleep(30)' "$tmp/held" &
		h=$!; pids="$pids $h"
		for i in $(seq 50); do [ -e "$tmp/held" ] && break; sleep 0.1; done
		cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" || fail "$form: cr-assemble failed: $(cat "$tmp/err")";;
	*)
		roundtrip $form $v "$form";;
	esac
	r=$(cat "$tmp/pid" 2>/dev/null)
	[ "$r" = "$v" ] || fail "$form: restored pid '$r', want $v"
	pids="$pids $r"
	kill -TERM $r
	wait_line "$tmp/out" PASS || fail "$form: the restored victim did not pass"
	gone $r || fail "$form: the restored victim did not exit"
	if [ $form = taken ]; then
		grep -qx "NOW $a" "$tmp/out" && fail "taken: the restored pty has the number $a another process holds"
		kill -9 $h; wait $h 2>/dev/null
	fi
	return 0
}

run file
run running
run pipe
[ -x /usr/bin/python3 ] && run taken
echo PASS
