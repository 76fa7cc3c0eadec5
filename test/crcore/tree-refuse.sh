#!/bin/bash
# Two processes of a tree that share what a restore would split (an mm
# after vfork or CLONE_VM, an fd table with CLONE_FILES, signal handlers
# with CLONE_SIGHAND) are refused while frozen, exit 4, naming both; the
# tree runs on untraced.  The same shape without sharing dumps.  A
# descendant using seccomp is refused (and named) like a root would be.
set -u
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
victim=
cleanup() { [ -n "$victim" ] && kill -9 $victim 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

for mode in "vm:shares its memory" "files:shares its fd table" "sighand:shares its (memory|signal handlers)" "none:"; do
	m=${mode%%:*} re=${mode#*:}
	rm -f "$tmp/ready"
	"$CR_BUILD/test/crcore/helpers/vt-clone" "$tmp/ready" $m </dev/null >/dev/null 2>&1 &
	victim=$!
	for i in $(seq 200); do [ -f "$tmp/ready" ] && break; sleep 0.01; done
	[ -f "$tmp/ready" ] || fail "$m: the victim did not start"
	child=$(tr -d " " </proc/$victim/task/$victim/children)
	[ -n "$child" ] || fail "$m: no child"
	cr-dump --leave-running -o "$tmp/img" $victim 2>"$tmp/err"; rc=$?
	if [ $m = none ]; then
		[ $rc = 0 ] || fail "none: the dump failed: $(cat "$tmp/err")"
	else
		[ $rc = 4 ] || fail "$m: cr-dump exited $rc, not 4: $(cat "$tmp/err")"
		grep -Eq "process $child $re.* with process $victim" "$tmp/err" || fail "$m: said '$(cat "$tmp/err")'"
	fi
	for p in $victim $child; do
		grep -q "^TracerPid:[[:space:]]*0" /proc/$p/status || fail "$m: $p is still traced"
		grep -q "^State:[[:space:]]*S" /proc/$p/status || fail "$m: $p is not sleeping: $(grep State /proc/$p/status)"
	done
	kill -9 $victim; wait $victim 2>/dev/null; victim=
done
# what a descendant holds is refused like the root's, naming it, before
# anything is frozen (cr-freeze --check too)
truncate -s 4096 "$tmp/counter"
bash -c '"$1" "$2" seccomp & wait' vt "$CR_BUILD/test/crcore/helpers/fz-refuse" "$tmp/counter" \
	</dev/null >/dev/null 2>&1 &
victim=$!
for i in $(seq 200); do [ "$(od -An -tu8 -N8 "$tmp/counter" | tr -d ' ')" != 0 ] && break; sleep 0.01; done
child=$(tr -d " " </proc/$victim/task/$victim/children)
[ -n "$child" ] || fail "seccomp: no child"
cr-freeze --check $victim 2>"$tmp/err" && fail "cr-freeze --check accepted a tree with seccomp"
grep -q "process $child uses seccomp" "$tmp/err" || fail "--check said '$(cat "$tmp/err")'"
cr-dump -o "$tmp/img" $victim 2>"$tmp/err"; rc=$?
[ $rc = 4 ] || fail "seccomp child: cr-dump exited $rc, not 4: $(cat "$tmp/err")"
grep -q "process $child uses seccomp" "$tmp/err" || fail "seccomp child: said '$(cat "$tmp/err")'"
grep -q "^TracerPid:[[:space:]]*0" /proc/$child/status || fail "the seccomp child is traced"
kill -9 $child $victim; wait $victim 2>/dev/null; victim=
echo PASS
