#!/bin/bash
# --leave-stopped hands the freeze to the cgroup v2 freezer: the victim
# never runs between the freeze and --thaw (its counter keeps the value
# it had while ptrace-frozen), lives in cr-freeze/PID until then, runs on
# after --thaw back in its own cgroup,
# and --kill ends a second freeze.  Our cgroups are gone afterwards.
set -u
root=/sys/fs/cgroup/unified
[ -e $root/cgroup.procs ] || { echo "no cgroup v2 at $root"; exit 77; }
# the victim must hold only fds we can dump
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
victim=
cleanup() {
	[ -n "$victim" ] && kill -9 "$victim" 2>/dev/null
	[ -n "$victim" ] && [ -d $root/cr-freeze/$victim ] && { echo 1 > $root/cr-freeze/$victim/cgroup.kill; sleep 0.1; rmdir $root/cr-freeze/$victim; }
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
cnt() { od -An -tu8 -N8 "$tmp/counter" | tr -d ' '; }
truncate -s 4096 "$tmp/counter"
"$CR_BUILD/test/crcore/helpers/fz-counter" "$tmp/counter" 8 2 >"$tmp/victim.out" 2>&1 </dev/null &
victim=$!
for i in $(seq 100); do [ "$(cnt)" != 0 ] && break; sleep 0.01; done
origin=$(sed -n 's/^0:://p' /proc/$victim/cgroup)

cr-freeze --leave-stopped $victim "$CR_BUILD/test/crcore/freeze-killed" --fz-stage "$tmp/counter" 50 cr-dumpmm >"$tmp/img" 2>"$tmp/err" || fail "dump: $(cat "$tmp/err")"
frozen=$(cat "$tmp/counter.frozen")
[ "$(sed -n 's/^0:://p' /proc/$victim/cgroup)" = "/cr-freeze/$victim" ] || fail "not in cr-freeze/$victim: $(cat /proc/$victim/cgroup)"
grep -q "frozen 1" $root/cr-freeze/$victim/cgroup.events || fail "cgroup not frozen"
sleep 0.3
[ "$(cnt)" = "$frozen" ] || fail "the victim ran after the hand-over: $frozen -> $(cnt)"
cr-freeze --thaw $victim 2>"$tmp/err" || fail "thaw: $(cat "$tmp/err")"
[ -d $root/cr-freeze/$victim ] && fail "our cgroup is still there after --thaw"
[ "$(sed -n 's/^0:://p' /proc/$victim/cgroup)" = "$origin" ] || fail "not back in $origin: $(cat /proc/$victim/cgroup)"
a=$(cnt); sleep 0.05; [ "$(cnt)" != "$a" ] || fail "the victim does not run after --thaw"
cr-freeze --thaw $victim 2>"$tmp/err" && fail "a second --thaw succeeded"
grep -q "not held" "$tmp/err" || fail "unclear message: $(cat "$tmp/err")"

cr-freeze --leave-stopped $victim >/dev/null 2>"$tmp/err" || fail "second freeze: $(cat "$tmp/err")"
a=$(cnt); sleep 0.1; [ "$(cnt)" = "$a" ] || fail "the victim runs while left stopped"
cr-freeze --kill $victim 2>"$tmp/err" || fail "kill: $(cat "$tmp/err")"
[ -d $root/cr-freeze/$victim ] && fail "our cgroup is still there after --kill"
wait $victim; rc=$?
[ $rc = 137 ] || fail "the victim ended with $rc, not by SIGKILL"
victim=
echo PASS
