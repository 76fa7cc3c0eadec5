#!/bin/bash
# A tree dump killed at any moment leaves the whole tree running
# unharmed: cr-dump --leave-running of vt-tree (7 processes, a zombie, a
# stopped child) writes into a pipe nobody reads and is SIGKILLed after
# 0-60 ms, 12 times over the same tree.  After each kill no process is
# traced, the stopped child is still stopped, the zombie still a zombie;
# at the end every process passes its own checks.
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
state_of() { sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' /proc/$1/status 2>/dev/null; }
live="root a a1 b1 c1 t"
printf 'abcdefghij' >"$tmp/data"
"$CR_BUILD/test/crcore/helpers/vt-tree" "$tmp/pids" "$tmp/data" >"$tmp/out" 2>&1 </dev/null &
for i in $(seq 300); do [ -f "$tmp/pids" ] && break; sleep 0.01; done
[ -f "$tmp/pids" ] || fail "the tree did not start"
mkfifo "$tmp/fifo"
for delay in 0 0.002 0.005 0.01 0.015 0.02 0.025 0.03 0.04 0.05 0.06 0.003; do
	# a reader that never reads: the dump blocks once the pipe is full
	sleep 30 <"$tmp/fifo" & holder=$!
	cr-dump --leave-running $(pid_of root) >"$tmp/fifo" 2>/dev/null & d=$!
	sleep $delay
	kill -9 $d 2>/dev/null; wait $d 2>/dev/null
	kill -9 $holder 2>/dev/null; wait $holder 2>/dev/null
	for i in $(seq 100); do
		ok=1
		for n in $live; do
			grep -q "^TracerPid:[[:space:]]*0" /proc/$(pid_of $n)/status || ok=0
		done
		[ $ok = 1 ] && break
		sleep 0.01
	done
	[ $ok = 1 ] || fail "after a kill at ${delay}s: a process is still traced"
	for n in $live; do
		s=$(state_of $(pid_of $n))
		case $n in
		t) [ "$s" = T ] || fail "after a kill at ${delay}s: t is in state $s, not stopped";;
		*) [ "$s" = S ] || [ "$s" = R ] || fail "after a kill at ${delay}s: $n is in state $s";;
		esac
	done
	[ "$(state_of $(pid_of z))" = Z ] || fail "after a kill at ${delay}s: z is no longer a zombie"
done
for n in $live; do kill -CONT $(pid_of $n); kill -TERM $(pid_of $n); done
for i in $(seq 300); do [ "$(grep -c ^PASS "$tmp/out")" -ge 9 ] && break; sleep 0.01; done
grep -q ^FAIL "$tmp/out" && fail "a process failed its checks"
[ "$(grep -c ^PASS "$tmp/out")" = 9 ] || fail "$(grep -c ^PASS "$tmp/out") PASS lines, not 9"
echo PASS
