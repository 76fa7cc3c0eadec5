#!/bin/bash
# Unix sockets between the processes of a tree: vs-sock peers (a parent
# and its forked child joined by stream, seqpacket and datagram socket
# pairs, by a connection the parent accepted from the child on a named
# listener, and by a second connection of the child still waiting in the
# listener's queue, and a datagram socket of the child connected to one
# the parent bound; each side has data queued for the other) is dumped,
# killed and restored by cr-assemble, from a file and through
# `cr-dump | cr-assemble`.  Each socket is one object again with both
# ends in their processes: after SIGTERM each side reads every queued
# byte and message (bounds kept), then both talk once more over every
# connection, the parent accepts the waiting one, and both print PASS.
# The restored tree is killed by pid at the end.
set -u
. "$CR_SRC/test/lib/tree.sh"

for form in file stream; do
	rm -rf "$tmp/d" "$tmp/out"; mkdir "$tmp/d"
	"$CR_BUILD/test/crcore/helpers/vt-reaper" "$CR_BUILD/test/crcore/helpers/vs-sock" peers "$tmp/d" \
		</dev/null >"$tmp/out" 2>&1 &
	reaper=$!
	for i in $(seq 300); do [ -f "$tmp/d/ready" ] && break; sleep 0.01; done
	[ -f "$tmp/d/ready" ] || fail "$form: the victim did not start"
	root=$(cat /proc/$reaper/task/$reaper/children | tr -d ' ')
	child=$(cat /proc/$root/task/$root/children | tr -d ' ')
	[ -n "$root" ] && [ -n "$child" ] || fail "$form: no parent or child"
	if [ $form = stream ]; then
		cr-dump $root 2>"$tmp/err" | cr-assemble 2>"$tmp/err2" || fail "$form: $(cat "$tmp/err" "$tmp/err2")"
	else
		cr-dump -o "$tmp/img" $root 2>"$tmp/err" || fail "$form: dump: $(cat "$tmp/err")"
		cr-assemble -i "$tmp/img" 2>"$tmp/err" || fail "$form: cr-assemble: $(cat "$tmp/err")"
	fi
	[ -d /proc/$root ] && [ -d /proc/$child ] || fail "$form: not restored"
	[ "$(cut -d' ' -f4 /proc/$child/stat)" = $root ] || fail "$form: the child's parent is not the root"
	# the pairs join the two processes: every socket of the child is
	# the peer of one of the parent's (ss -x lists both ends)
	n=0
	for l in $(ls -l /proc/$child/fd | grep -o 'socket:\[[0-9]*\]' | tr -d 'socket:[]'); do
		ss -xap 2>/dev/null | grep -q " $l .*pid=$child" || continue
		peer=$(ss -xa 2>/dev/null | awk -v i=$l '$6==i {print $8}' | head -1)
		[ -n "$peer" ] && ls -l /proc/$root/fd | grep -q "socket:\[$peer\]" && n=$((n + 1))
	done
	[ $n -ge 3 ] || fail "$form: $n of the child's sockets have their peer in the parent, not 3 or more"
	kill -TERM $root $child
	for i in $(seq 300); do [ "$(grep -c ^PASS "$tmp/out")" = 2 ] && break; grep -q ^FAIL "$tmp/out" && break; sleep 0.01; done
	grep -q ^FAIL "$tmp/out" && fail "$form: a restored process failed its checks"
	[ "$(grep -c ^PASS "$tmp/out")" = 2 ] || fail "$form: $(grep -c ^PASS "$tmp/out") PASS lines, not 2"
	echo "PASS $form"
	for p in $(descendants $root) $root; do kill -9 $p 2>/dev/null; done
	root=
	wait $reaper 2>/dev/null
done
