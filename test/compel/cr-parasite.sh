#!/bin/bash
# cr-parasite on a live process: syscalls with number and string
# arguments, redirect, load, call, run; the errors and their exit codes;
# the target sleeps on undisturbed and exits 0 on time.
set -u
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT

start=$(date +%s%N)
(exec sleep 2 > "$tmp/out") &
pid=$!
sleep 0.2

r=$(cr-parasite -p $pid syscall getpid) || fail "syscall getpid"
[ "$r" = $pid ] || fail "getpid gave '$r', want $pid"
r=$(cr-parasite -p $pid syscall write 1 "hello from inside" 17) || fail "syscall write"
[ "$r" = 17 ] || fail "write gave $r"
grep -q "hello from inside" "$tmp/out" || fail "the string did not reach the target's stdout"
cr-parasite -p $pid syscall close 99 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "Bad file descriptor" "$tmp/err" || fail "close 99: rc $rc, $(cat "$tmp/err")"

cr-parasite -p $pid redirect 1 "$tmp/redir" || fail "redirect"
cr-parasite -p $pid syscall write 1 "now redirected" 14 >/dev/null || fail "write after redirect"
[ "$(cat "$tmp/redir")" = "now redirected" ] || fail "redirect: file holds '$(cat "$tmp/redir")'"

h=$(cr-parasite -p $pid load libm.so.6) || fail "load"
case $h in 0x*) ;; *) fail "load printed '$h'" ;; esac
grep -q libm /proc/$pid/maps || fail "libm is not mapped in the target after load"
r=$(cr-parasite -p $pid call libc.so.6 strlen "seven!!") || fail "call strlen"
[ "$r" = 7 ] || fail "strlen gave $r"
r=$(cr-parasite -p $pid call libm.so.6 ilogb 1024) || true # a double arg: just must not crash
r=$(cr-parasite -p $pid run "$CR_BUILD/test/compel/blobs/testcmd.blob" tc_getpid) || fail "run"
[ "$r" = $pid ] || fail "run tc_getpid gave $r"
# arguments go into the shared area (cr-parasite once copied them from NULL
# and crashed: the "segfault at 0 in libc" of dmesg)
r=$(cr-parasite -p $pid run "$CR_BUILD/test/compel/blobs/testcmd.blob" tc_arglen abc de) ||
	fail "run with arguments"
[ "$r" = 7 ] || fail "run tc_arglen abc de gave $r, want 7"
grep -q compel-parasite /proc/$pid/maps && fail "a parasite mapping stayed"

cr-parasite -p 999999 syscall getpid 2>/dev/null; [ $? = 6 ] || fail "no such pid: want exit 6"
cr-parasite -p 2 syscall getpid 2>"$tmp/err"; [ $? = 4 ] || fail "kernel thread: want exit 4"
grep -q "kernel thread" "$tmp/err" || fail "kernel thread: message '$(cat "$tmp/err")'"
cr-parasite -p $pid syscall nosuchcall 2>/dev/null; [ $? = 2 ] || fail "unknown syscall: want 2"
cr-parasite -p $pid run /nonexistent.blob 2>/dev/null; [ $? = 6 ] || fail "missing blob: want 6"
sh -c 'true & exec sleep 3' & zp=$!; sleep 0.3  # sleep never reaps its child
z=$(cat /proc/$zp/task/$zp/children)
cr-parasite -p $z syscall getpid 2>"$tmp/err"; rc=$?
[ $rc = 4 ] && grep -q zombie "$tmp/err" || fail "zombie $z: rc $rc '$(cat "$tmp/err")'"
kill $zp
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$CR_BUILD/bin/cr-parasite" -p $pid \
		syscall getpid 2>"$tmp/err"; rc=$?
	[ $rc = 3 ] && grep -q CAP_SYS_PTRACE "$tmp/err" || fail "unprivileged: rc $rc '$(cat "$tmp/err")'"
fi

wait $pid; rc=$?
[ $rc = 0 ] || fail "the target exited with $rc"
ms=$((($(date +%s%N) - start) / 1000000))
[ $ms -ge 1900 ] && [ $ms -lt 3500 ] || fail "sleep 2 took $ms ms"
echo PASS
