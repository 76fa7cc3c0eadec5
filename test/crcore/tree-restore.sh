#!/bin/bash
# A tree comes back whole: vt-tree (a session leader and child subreaper
# root; a group of two, one with two threads; a process in the group of
# an exited leader; a process in the session of an exited leader; a
# zombie; a stopped child; shared anonymous memory and a memfd written
# once; a file and a deleted file shared by all) is dumped by cr-dump,
# killed, and restored by cr-assemble, from a file and through a pipe
# (cr-dump | cr-assemble).  /proc shows every pid with its parent, group
# and session, the zombie with its name and exit code, the stopped child
# stopped; then every process checks itself (memory still shared, one
# file offset, the zombie's status as its parent waits for it) and prints
# PASS.  The whole restored tree is killed by pid at the end.
set -u
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
cleanup() {
	[ -f "$tmp/pids" ] && kill -9 $(awk '{print $2}' "$tmp/pids") 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/    victim: /' "$tmp/out"; exit 1; }
pid_of() { awk -v n="$1" '$1==n{print $2}' "$tmp/pids"; }
field() { awk -v n="$1" -v f="$2" '$1==n{print $f}' "$tmp/pids"; }
live="root a a1 b1 c1 t"

for form in file pipe sysv; do
	rm -f "$tmp/pids" "$tmp/out"
	printf 'abcdefghij' >"$tmp/data"
	# sysv: the shared area of the third kind is a removed SysV segment
	opt=nosysv; [ $form = sysv ] && opt=
	# under a reaper: the killed original's processes free their pids at once
	"$CR_BUILD/test/crcore/helpers/vt-reaper" "$CR_BUILD/test/crcore/helpers/vt-tree" \
		"$tmp/pids" "$tmp/data" $opt >"$tmp/out" 2>&1 </dev/null &
	for i in $(seq 300); do [ -f "$tmp/pids" ] && break; sleep 0.01; done
	[ -f "$tmp/pids" ] || fail "the tree did not start"
	r=$(pid_of root)
	if [ $form != pipe ]; then
		cr-dump -o "$tmp/img" $r 2>"$tmp/err" || fail "dump: $(cat "$tmp/err")"
		cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" || fail "$form: cr-assemble: $(cat "$tmp/err")"
	else
		cr-dump $r 2>"$tmp/err" | cr-assemble --pidfile "$tmp/pid" 2>"$tmp/err2" ||
			fail "$form: $(cat "$tmp/err" "$tmp/err2")"
	fi
	[ "$(cat "$tmp/pid")" = $r ] || fail "$form: --pidfile says $(cat "$tmp/pid"), not $r"
	for n in $live z; do
		p=$(pid_of $n)
		st=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null)
		[ -n "$st" ] || fail "$form: $n ($p) was not restored"
		set -- $st
		[ $n = root ] || [ "$2" = "$(field $n 3)" ] || fail "$form: $n has parent $2, not $(field $n 3)"
		[ "$3" = "$(field $n 4)" ] || fail "$form: $n is in group $3, not $(field $n 4)"
		[ "$4" = "$(field $n 5)" ] || fail "$form: $n is in session $4, not $(field $n 5)"
		case $n in
		z) [ "$1" = Z ] || fail "$form: z is in state $1, not a zombie"
		   [ "$(sed 's/.* //' /proc/$p/stat)" = 1792 ] || fail "$form: z has exit code $(sed 's/.* //' /proc/$p/stat)"
		   [ "$(cat /proc/$p/comm)" = vt-tree ] || fail "$form: z is named $(cat /proc/$p/comm)";;
		t) [ "$1" = T ] || fail "$form: t is in state $1, not stopped";;
		*) [ "$1" = S ] || [ "$1" = R ] || fail "$form: $n is in state $1";;
		esac
	done
	[ "$(ls /proc/$(pid_of a1)/task | wc -l)" = 2 ] || fail "$form: a1 lost its second thread"
	if [ $form = sysv ]; then
		# one segment, removed, attached by the 6 live processes
		id=$(awk '/SYSV/ {print $5; exit}' /proc/$r/maps)
		[ -n "$id" ] || fail "sysv: the root maps no SysV segment"
		line=$(awk -v id=$id '$2==id' /proc/sysvipc/shm)
		[ -n "$line" ] || fail "sysv: segment $id is not in /proc/sysvipc/shm"
		set -- $line
		[ $(( 0$3 & 01000 )) != 0 ] || [ "$3" -ge 1000 ] || fail "sysv: segment $id is not removed (perms $3)"
		[ "$7" = 6 ] || fail "sysv: segment $id has $7 attachments, not 6"
	fi
	if [ $form = file ]; then
		# the same image again while the restored tree lives: refused
		# before anything is created
		cr-assemble -i "$tmp/img" 2>"$tmp/err" && fail "a second restore over a live tree succeeded"
		grep -q "is taken by a running process" "$tmp/err" || fail "second restore said: $(cat "$tmp/err")"
	fi
	for n in $live; do kill -CONT $(pid_of $n); kill -TERM $(pid_of $n); done
	for i in $(seq 300); do [ "$(grep -c ^PASS "$tmp/out")" -ge 9 ] && break; sleep 0.01; done
	grep -q ^FAIL "$tmp/out" && fail "$form: a restored process failed its checks"
	[ "$(grep -c ^PASS "$tmp/out")" = 9 ] || fail "$form: $(grep -c ^PASS "$tmp/out") PASS lines, not 9"
	kill -9 $(awk '{print $2}' "$tmp/pids") 2>/dev/null
	if [ $form = file ]; then
		# the header of the last PAGES record (the last process's) flipped:
		# the restore fails saying where, and no process of the tree is
		# left running
		off=$(cr-show "$tmp/img" | grep '"name":"PAGES"' | tail -1 | sed 's/.*"offset":\([0-9]*\).*/\1/')
		[ -n "$off" ] || fail "no PAGES record in the image"
		cp "$tmp/img" "$tmp/bad"
		printf '\x5a' | dd of="$tmp/bad" bs=1 seek=$((off + 9)) conv=notrunc status=none
		for i in $(seq 300); do
			busy=0
			for n in $live; do [ -d /proc/$(pid_of $n) ] && busy=1; done
			[ $busy = 0 ] && break; sleep 0.01
		done
		cr-assemble -i "$tmp/bad" 2>"$tmp/err"; rc=$?
		[ $rc = 5 ] || fail "corrupted image: cr-assemble exited $rc, not 5: $(cat "$tmp/err")"
		grep -q "checksum mismatch" "$tmp/err" || fail "corrupted image: said $(cat "$tmp/err")"
		sleep 0.1
		for n in $live; do
			st=$(sed 's/.*) //' /proc/$(pid_of $n)/stat 2>/dev/null | cut -d' ' -f1)
			case "$st" in ""|Z|X) ;; *) fail "corrupted image: $n was left (state $st)";; esac
		done
		echo "PASS corrupted"
	fi
	echo "PASS $form"
done
