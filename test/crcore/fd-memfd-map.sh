#!/bin/bash
# A memfd that the process holds and maps (docs/fds.md): vf-memfd-map
# "single" holds five memfds (mapped in part and twice; write-sealed and
# mapped read-only; F_SEAL_FUTURE_WRITE with a writable mapping; made
# without sealing and mapped through an O_RDONLY reopen; mapped with its
# fd closed) and is dumped with cr-dump, killed and restored with
# cr-assemble, from a file and through a pipe; with --leave-running the
# original passes its own checks first.  The restored victim checks that
# each fd and its mappings are one object (a write through one shows in
# the other), the name, size, seals (and whether more may be added),
# offset, fd flags and contents inside and outside the mappings.  "tree":
# a parent and a child that inherited the fd both map it (different,
# overlapping ranges); after the restore each sees what the other
# writes; the same when the child closed its fd after mapping (it maps
# the parent's memfd again, its pages written through that mapping).  A
# mapping naming an fd that is not its memfd is a bad image
# (exit 5, nothing made).  Refused, the victim running on: a child that
# maps a write-sealed memfd its parent holds without holding it itself, a
# mapped memfd over the 16 MiB cap, a hugetlb memfd (exit 4, naming it).
set -u
. "$CR_SRC/test/lib/tree.sh" # tmp, root, pids, fail, wait_line, gone
H=$CR_BUILD/test/crcore/helpers
alive() { grep -q "^State:[[:space:]]*[RS]" /proc/$1/status 2>/dev/null && grep -q "^TracerPid:[[:space:]]*0" /proc/$1/status; }

run() { # MODE FORM
	local m=$1 form=$2 v r c=
	rm -f "$tmp/out" "$tmp/img" "$tmp/pid"
	"$H/vt-reaper" "$H/vf-memfd-map" "$tmp/out" $m </dev/null >/dev/null 2>&1 &
	pids="$pids $!"
	wait_line "$tmp/out" READY || fail "$m: the victim did not get ready"
	v=$(cat /proc/$!/task/*/children | awk '{print $1}')
	root=$v
	case $m in tree*) c=$(sed -n 's/^CHILD //p' "$tmp/out"); [ -n "$c" ] || fail "$m: no child";; esac
	case $form in
	file)
		cr-dump -o "$tmp/img" $v 2>"$tmp/err" || fail "$m: cr-dump failed: $(cat "$tmp/err")"
		gone $v || fail "$m: the original did not die"
		cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" || fail "$m: cr-assemble failed: $(cat "$tmp/err")";;
	pipe)
		cr-dump $v 2>"$tmp/err" | cr-assemble --pidfile "$tmp/pid" 2>"$tmp/err2" ||
			fail "$m: cr-dump | cr-assemble failed: $(cat "$tmp/err" "$tmp/err2")";;
	running)
		cr-dump --leave-running -o "$tmp/img" $v 2>"$tmp/err" || fail "$m: cr-dump --leave-running failed: $(cat "$tmp/err")"
		kill -TERM $v $c || fail "$m: the original died with --leave-running"
		wait_line "$tmp/out" PASS || fail "$m running: the original did not pass after the dump"
		[ -z "$c" ] || wait_line "$tmp/out" "PASS child" 100 || fail "$m running: the original child did not pass"
		gone $v; [ -z "$c" ] || gone $c
		: > "$tmp/out"
		cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" || fail "$m: cr-assemble failed: $(cat "$tmp/err")";;
	esac
	r=$(cat "$tmp/pid" 2>/dev/null)
	[ "$r" = "$v" ] || fail "$m $form: restored pid '$r', want $v"
	pids="$pids $r $c"
	[ -z "$c" ] || [ "$(awk '{print $4}' /proc/$c/stat 2>/dev/null)" = "$v" ] || fail "$m $form: the child is not back under its parent"
	kill -TERM $r $c
	wait_line "$tmp/out" PASS || fail "$m $form: the restored victim did not pass"
	[ -z "$c" ] || wait_line "$tmp/out" "PASS child" 100 || fail "$m $form: the restored child did not pass"
	grep -q FAIL "$tmp/out" && fail "$m $form: a check failed"
	gone $r || fail "$m $form: the restored victim did not exit"
	root=
	echo "ok: $m $form"
}

run single file
run single running
run single pipe
run tree file
run tree running
run tree-nofd file
run tree-nofd pipe

# a bad image: a mapping that names as its memfd an fd that is not that
# memfd (here fd 1, /dev/null) stops the restore before the process exists;
# the good image then restores
if [ -x /usr/bin/python3 ]; then
	rm -f "$tmp/out" "$tmp/pid"
	"$H/vt-reaper" "$H/vf-memfd-map" "$tmp/out" single </dev/null >/dev/null 2>&1 &
	pids="$pids $!"
	wait_line "$tmp/out" READY || fail "bad image: the victim did not get ready"
	v=$(cat /proc/$!/task/*/children | awk '{print $1}')
	cr-dump -o "$tmp/img" $v 2>"$tmp/err" || fail "bad image: cr-dump failed: $(cat "$tmp/err")"
	gone $v || fail "bad image: the original did not die"
	cr-show -p "$tmp/img" | /usr/bin/python3 -c 'import json,sys
d=json.load(sys.stdin); n=0
for r in d["records"]:
	for v in (r.get("msg") or {}).get("vmas", []):
		if "memfd_fd" in v and n == 0:
			v["memfd_fd"]=1; n=1
			for k in ("payload", "len", "csum"): r.pop(k, None)
assert n
json.dump(d,sys.stdout)' | cr-show --encode >"$tmp/bad.img" || fail "bad image: cannot make it"
	cr-assemble -i "$tmp/bad.img" --pidfile "$tmp/pid" 2>"$tmp/err"; rc=$?
	[ $rc = 5 ] || fail "bad image: cr-assemble exited $rc, not 5: $(cat "$tmp/err")"
	grep -Eq "MM record: mapping 0x[0-9a-f]+ maps memfd fd 1, which is not that memfd in the FILES record" "$tmp/err" ||
		fail "bad image: cr-assemble said: $(cat "$tmp/err")"
	[ ! -s "$tmp/pid" ] && ! kill -0 $v 2>/dev/null || fail "bad image: a process was left"
	cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" || fail "bad image: the good one failed: $(cat "$tmp/err")"
	pids="$pids $v"
	kill -TERM $v
	wait_line "$tmp/out" PASS || fail "bad image: the good image's victim did not pass"
	echo "ok: bad image refused"
fi

# refused, running on: a child mapping a write-sealed memfd that only its
# parent holds (its pages would be written through a writable mapping)
rm -f "$tmp/out"
"$H/vf-memfd-map" "$tmp/out" tree-sealed </dev/null >/dev/null 2>&1 &
v=$!; pids="$pids $v"; root=$v
wait_line "$tmp/out" READY || fail "tree-sealed: the victim did not get ready"
c=$(sed -n 's/^CHILD //p' "$tmp/out")
cr-dump -o "$tmp/img" $v 2>"$tmp/err"; rc=$?
[ $rc = 4 ] || fail "tree-sealed: cr-dump exited $rc, not 4: $(cat "$tmp/err")"
grep -Eq "process $c maps a write-sealed memfd \(/memfd:vt-map\) at 0x[0-9a-f]+ that process $v holds as fd [0-9]+ while it holds no fd of it itself" "$tmp/err" ||
	fail "tree-sealed: cr-dump said: $(cat "$tmp/err")"
alive $v && alive $c || fail "tree-sealed: the tree does not run on after the refusal"
kill -9 $c $v; root=
echo "ok: tree-sealed refused"

# refused, running on: over the cap, hugetlb
cnt() { od -An -tu8 -N8 "$tmp/counter" | tr -d ' '; }
for mode in "memfd-big:fd [0-9]+ is a memfd \(/memfd:fz-big \(deleted\)\) of 17825792 bytes, more than 16777216: not supported" \
	"memfd-huge:fd [0-9]+ is a hugetlb memfd \(/memfd:fz-huge \(deleted\)\): not supported"; do
	m=${mode%%:*} re=${mode#*:}
	truncate -s 0 "$tmp/counter"; truncate -s 4096 "$tmp/counter"
	"$H/fz-refuse" "$tmp/counter" $m </dev/null >/dev/null 2>&1 &
	v=$!; pids="$pids $v"
	for i in $(seq 200); do [ "$(cnt)" != 0 ] && break; kill -0 $v 2>/dev/null || break; sleep 0.01; done
	if [ "$(cnt)" = 0 ]; then
		wait $v; rc=$?
		[ $m = memfd-huge ] && [ $rc = 3 ] && { echo "note: no hugetlb memfd here: $m not tried"; continue; }
		fail "$m: the victim did not start"
	fi
	cr-dump -o "$tmp/img" $v 2>"$tmp/err"; rc=$?
	[ $rc = 4 ] || fail "$m: cr-dump exited $rc, not 4: $(cat "$tmp/err")"
	grep -Eq "$re" "$tmp/err" || fail "$m: cr-dump said: $(cat "$tmp/err")"
	alive $v || fail "$m: the victim does not run on after the refusal"
	a=$(cnt); sleep 0.05; [ "$(cnt)" != "$a" ] || fail "$m: the victim does not count after the refusal"
	kill -9 $v; wait $v 2>/dev/null
	echo "ok: $m refused"
done
echo PASS
