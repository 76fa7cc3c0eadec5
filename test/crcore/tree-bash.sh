#!/bin/bash
# A real program: a bash script with background jobs (two subshells that
# count into files, forking a sleep each step, and a sleep 1000; the
# script waits for them) is dumped with every process of it, killed, and
# restored by cr-assemble.  The counters go on from where they were, the
# script still has its three jobs, in its process group, and still waits.
# The whole restored tree is killed by pid at the end.
set -u
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
root=
descendants() { # pids below $1, depth first
	local c
	for c in $(cat /proc/$1/task/*/children 2>/dev/null); do descendants $c; echo $c; done
}
cleanup() {
	if [ -n "$root" ]; then
		for p in $(descendants $root) $root; do kill -9 $p 2>/dev/null; done
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
cat >"$tmp/job.sh" <<'SCRIPT'
count() { local n=0; while :; do n=$((n+1)); echo $n > "$1.tmp"; mv "$1.tmp" "$1"; sleep 0.02; done; }
count c1 &
count c2 &
sleep 1000 &
echo ready > ready
wait
echo "wait returned" > done
SCRIPT
cd "$tmp"
"$CR_BUILD/test/crcore/helpers/vt-reaper" bash "$tmp/job.sh" </dev/null >"$tmp/out" 2>&1 &
reaper=$!
for i in $(seq 300); do [ -f ready ] && [ -f c1 ] && [ -f c2 ] && break; sleep 0.01; done
[ -f ready ] || fail "the script did not start"
root=$(cat /proc/$reaper/task/$reaper/children | tr -d ' ')
[ -n "$root" ] || fail "no script process"
sleep 0.1
n=$(descendants $root | wc -l)
[ "$n" -ge 3 ] || fail "the script has $n descendants, not 3 or more"
cr-dump -o "$tmp/img" $root 2>"$tmp/err" || fail "dump: $(cat "$tmp/err")"
a1=$(cat c1); a2=$(cat c2)
sleep 0.1
[ "$(cat c1)" = "$a1" ] || fail "a counter ran on after the dump killed it"
cr-assemble -i "$tmp/img" 2>"$tmp/err" || fail "cr-assemble: $(cat "$tmp/err")"
sleep 0.3
b1=$(cat c1); b2=$(cat c2)
[ "$b1" -gt "$a1" ] && [ "$b2" -gt "$a2" ] || fail "the counters did not go on: $a1 $a2 -> $b1 $b2"
kids=$(cat /proc/$root/task/$root/children | wc -w)
[ "$kids" = 3 ] || fail "the restored script has $kids jobs, not 3"
for c in $(cat /proc/$root/task/$root/children); do
	[ "$(cut -d' ' -f5 /proc/$c/stat)" = "$(cut -d' ' -f5 /proc/$root/stat)" ] || fail "job $c left the script's group"
done
[ -f done ] && fail "the script's wait returned"
echo "counters $a1 $a2 -> $b1 $b2"
echo PASS
