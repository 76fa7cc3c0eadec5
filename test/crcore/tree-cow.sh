#!/bin/bash
# Private memory inherited across fork, stored once and shared again:
# vt-cow (a parent with 64 MiB of private memory and four children that
# each rewrote their first MiB of it) is dumped, killed and restored.
# A --leave-running dump first must leave the original's memory shared.
# The image must hold the shared 63 MiB once (PAGES_SHARED), not five
# times; each restored process checks its contents and that the region
# is still shared copy-on-write (Shared_Dirty in its smaps), then the
# children write to it and the parent sees its own contents unchanged.
# Twice: as is (cr-assemble stages the shared pages at their own
# addresses), and with CRCORE_STAGE_AWAY=1, which makes cr-assemble act
# as if its own memory were there: it stages them elsewhere and each
# restorer moves them into place (still shared).
set -u
. "$CR_SRC/test/lib/tree.sh"

start() { # $1 children, $2 MiB: vt-cow under vt-reaper; sets $root
	local reaper
	rm -f "$tmp"/ready* "$tmp/img" "$tmp/out"
	"$CR_BUILD/test/crcore/helpers/vt-reaper" "$CR_BUILD/test/crcore/helpers/vt-cow" "$tmp" $1 $2 </dev/null >"$tmp/out" 2>&1 &
	reaper=$!
	for i in $(seq 1000); do [ -e "$tmp/ready" ] && break; sleep 0.01; done
	[ -e "$tmp/ready" ] || fail "the victim did not start"
	root=$(cat /proc/$reaper/task/$reaper/children | tr -d ' ')
}

run() { # $1: "" or an environment setting for cr-assemble
	local pre=$1 a shared sd
	start 4 64
	# a dump that leaves the tree running must not unshare its memory
	# (reading pages the way that pins them gives the reader's target
	# its own copy of each)
	cr-dump --leave-running -o /dev/null $root 2>"$tmp/err" || fail "dump --leave-running: $(cat "$tmp/err")"
	sd=$(awk '/^Shared_Dirty/ {print $2}' /proc/$root/smaps_rollup)
	[ "$sd" -ge $((63 * 1024)) ] || fail "after a --leave-running dump the original shares only $sd kB"
	cr-dump -o "$tmp/img" $root 2>"$tmp/err" || fail "dump: $(cat "$tmp/err")"
	# the shared part once: about 63 MiB of PAGES_SHARED, under 2 x 64 MiB in all
	shared=$(cr-show --summary -j "$tmp/img" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(sum(t["payload_bytes"] for t in s["types"] if t["name"] == "PAGES_SHARED") >> 20)')
	a=$(stat -c %s "$tmp/img")
	[ "$shared" -ge 62 ] || fail "PAGES_SHARED holds $shared MiB, not the 63 MiB the tree shares"
	[ "$a" -lt $((128 << 20)) ] || fail "image of $((a >> 20)) MiB: the shared memory is stored more than once"
	env $pre cr-assemble -vv -i "$tmp/img" 2>"$tmp/err" || fail "cr-assemble: $(cat "$tmp/err")"
	moved=$(grep -c "moved into place" "$tmp/err")
	kill -USR1 $root
	for i in $(seq 1000); do [ "$(grep -c ^PASS "$tmp/out")" = 5 ] && break; grep -q ^FAIL "$tmp/out" && break; sleep 0.01; done
	grep -q ^FAIL "$tmp/out" && fail "a restored process failed its checks"
	[ "$(grep -c ^PASS "$tmp/out")" = 5 ] || fail "$(grep -c ^PASS "$tmp/out") PASS lines, not 5"
	echo "PASS${pre:+ ($pre)}: image $((a >> 20)) MiB, PAGES_SHARED $shared MiB, $moved records staged away and moved; $(grep '^PASS parent' "$tmp/out")"
	for i in $(seq 500); do kill -0 $root 2>/dev/null || break; sleep 0.01; done
	root=
}
run ""
run CRCORE_STAGE_AWAY=1
[ "$moved" -gt 0 ] || fail "CRCORE_STAGE_AWAY=1: nothing was staged away"

# Bad images (re-encoded with cr-show): a clear error, exit 5 (invalid
# image), nothing created.  A small tree: a parent and two children
# sharing 3 MiB.
start 2 4
r0=$root
cr-dump -o "$tmp/img" $root 2>"$tmp/err" || fail "dump of the small tree: $(cat "$tmp/err")"
for i in $(seq 500); do kill -0 $root 2>/dev/null || break; sleep 0.01; done
root=
sleep 1000 </dev/null >/dev/null 2>&1 &
one=$!
cr-dump -o "$tmp/one" $one 2>"$tmp/err" || fail "dump of one process: $(cat "$tmp/err")"
cr-show --payload "$tmp/img" >"$tmp/json" || fail "cr-show of the tree image"
cr-show --payload "$tmp/one" >"$tmp/json1" || fail "cr-show of the one-process image"
bad() { # $1: what, $2: python editing d (the tree) and d1 (one process), $3: expected message
	python3 - "$tmp/json" "$tmp/json1" "$tmp/bad.json" <<PY || fail "$1: editing the image"
import json, sys
d = json.load(open(sys.argv[1])); d1 = json.load(open(sys.argv[2]))
recs = d["records"]
def msg_of(r):
    r.pop("payload", None); r.pop("len", None); r.pop("csum", None)
    return r["msg"]
$2
json.dump(d, open(sys.argv[3], "w"))
PY
	cr-show --encode -i "$tmp/bad.json" -o "$tmp/bad" 2>"$tmp/err" || fail "$1: encode: $(cat "$tmp/err")"
	cr-assemble -i "$tmp/bad" 2>"$tmp/err"
	rc=$?
	[ $rc = 5 ] || fail "$1: cr-assemble exited $rc, not 5: $(cat "$tmp/err")"
	grep -q "$3" "$tmp/err" || fail "$1: the message does not say '$3': $(cat "$tmp/err")"
	! kill -0 $r0 2>/dev/null || fail "$1: the root was created anyway"
	echo "PASS bad image, $1: $(head -1 "$tmp/err")"
}
bad "a PAGES_SHARED record missing" '
i = [k for k, r in enumerate(recs) if r["name"] == "PAGES_SHARED"][0]
del recs[i]' "in no PAGES_SHARED record"
bad "an inherited range not page-aligned" '
m = [r for r in recs if r["name"] == "MM" and r["msg"].get("inherited")][1]
msg_of(m)["inherited"][0]["start"] += 8' "is not whole pages"
bad "an MM after a PAGES_SHARED" '
i = [k for k, r in enumerate(recs) if r["name"] == "PAGES_SHARED"][0]
j = [k for k, r in enumerate(recs) if r["name"] == "MM"][-1]
recs.insert(i, recs.pop(j))' "an MM record after the PAGES_SHARED"
r0=$one
bad "a PAGES_SHARED in the image of one process" '
s = [r for r in recs if r["name"] == "PAGES_SHARED"][0]
r1 = d1["records"]
i = [k for k, r in enumerate(r1) if r["name"] == "PAGES"][0]
r1.insert(i, s)
d = d1' "single process"
kill -9 $one 2>/dev/null
exit 0
