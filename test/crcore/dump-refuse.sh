#!/bin/bash
# What the dump does not support yet is refused before anything changes:
# exit 4 (unsupported) with a message naming it, and the victim keeps
# running untouched (not traced, counting).  Also: a dead pid, a kernel
# thread, the tool itself, a thread id, usage errors.  (Children are
# dumped with the process since process trees: test tree-dump.)
set -u
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
victim= holder=
cleanup() { for p in $victim $holder; do kill -9 $p 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
cnt() { od -An -tu8 -N8 "$tmp/counter" | tr -d ' '; }

expect() { # expect CODE REGEX COMMAND...
	local code=$1 re=$2; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
	[ $rc = "$code" ] || fail "'$*' exited $rc, not $code: $(cat "$tmp/err")"
	[ -z "$re" ] || grep -Eq "$re" "$tmp/err" || fail "'$*' said '$(cat "$tmp/err")', expected /$re/"
	[ -s "$tmp/out" ] && [ "$(head -c 8 "$tmp/out")" != "" ] && [ "$code" != 0 ] && [ "$(stat -c %s "$tmp/out")" -gt 64 ] && fail "'$*' wrote records before refusing"
	return 0
}

for mode in "pipe:fd [0-9]+ is a pipe .* that process [0-9]+ holds too" "socket:fd [0-9]+ is a socket \(TCP" \
	"pidfd:fd [0-9]+ is a \\[pidfd\\]" \
	"seccomp:uses seccomp" "pty:fd 0 is a terminal .* --shell-job" \
	"memfd-big:fd [0-9]+ is a memfd .* of 17825792 bytes, more than 16777216"; do
	m=${mode%%:*} re=${mode#*:}
	truncate -s 0 "$tmp/counter"; truncate -s 4096 "$tmp/counter"
	# pipe: fd 3 is a pipe whose read end another process (ours) holds
	[ $m = pipe ] && exec 3> >(exec sleep 30)
	if [ $m = pty ]; then
		# a pty of its own is supported (test tty-pty); fd 0 on a
		# terminal whose master another process holds (the terminal
		# of the shell that started it) needs --shell-job
		rm -f "$tmp/vpid"
		/usr/bin/python3 -c 'import os,sys,time
m,s=os.openpty(); p=os.fork()
if p==0:
	os.dup2(s,0); os.execv(sys.argv[2],sys.argv[2:])
open(sys.argv[1],"w").write(str(p)); time.sleep(30)' "$tmp/vpid" \
			"$CR_BUILD/test/crcore/helpers/fz-refuse" "$tmp/counter" $m >/dev/null 2>&1 &
		holder=$!
		for i in $(seq 50); do [ -s "$tmp/vpid" ] && break; sleep 0.1; done
		victim=$(cat "$tmp/vpid")
	else
		"$CR_BUILD/test/crcore/helpers/fz-refuse" "$tmp/counter" $m </dev/null >/dev/null 2>&1 &
		victim=$!
	fi
	exec 3>&-
	for i in $(seq 200); do [ "$(cnt)" != 0 ] && break; sleep 0.01; done
	[ "$(cnt)" != 0 ] || fail "victim $m did not start"
	expect 4 "$re" cr-dump -o "$tmp/img" $victim
	expect 4 "$re" cr-freeze $victim cr-dumpmm
	grep -q "^TracerPid:[[:space:]]*0" /proc/$victim/status || fail "$m: the victim is still traced"
	grep -q "^State:[[:space:]]*[RS]" /proc/$victim/status || fail "$m: the victim is not running: $(grep State /proc/$victim/status)"
	a=$(cnt); sleep 0.05; [ "$(cnt)" != "$a" ] || fail "$m: the victim does not run after the refusal"
	kill -9 $victim; wait $victim 2>/dev/null; victim=
	[ $m = pty ] && { kill -9 $holder; wait $holder 2>/dev/null; holder=; }
done

sleep 0.01 & dead=$!; wait $dead
expect 6 "no such process $dead" cr-dump -o "$tmp/img" $dead
expect 4 "kernel thread" cr-freeze 2
expect 4 "this process itself" sh -c 'exec cr-freeze $$'
expect 2 "not a pid" cr-freeze abc
expect 2 "no PID" cr-freeze
expect 2 "no freeze to take over" env -u CR_DUMP_PID cr-dumpmm
# a thread id names its thread, not the process: refused with a hint
"$CR_BUILD/test/crcore/helpers/fz-counter" "$tmp/counter" 0 1 </dev/null >/dev/null 2>&1 &
victim=$!
sleep 0.2
tid=$(ls /proc/$victim/task | grep -v "^$victim$" | head -1)
expect 1 "is a thread of process $victim" cr-freeze --check $tid
expect 0 "" cr-freeze --check $victim
echo PASS
