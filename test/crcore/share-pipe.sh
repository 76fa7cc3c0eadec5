#!/bin/bash
# A shell pipeline comes back whole: `bash -c 'vs-seq produce | vs-seq
# consume'` (a producer writing numbered lines as fast as the pipe takes
# them, a slower consumer checking that each line is the one after the
# last) is dumped mid-stream with the pipe full, killed, and restored by
# cr-assemble.  The pipe is one object again, held by both with the
# right fd numbers and access modes, its 64 KiB of data stored once in
# the image and written back once: the consumer goes on far past what was
# buffered without a line lost or repeated.  The same with a FIFO both
# processes opened by name (`produce > fifo & consume < fifo`), and with
# `cr-dump | cr-assemble`, with real programs (`seq | perl`) and with two
# bash loops (`while :; do echo ...; done | while read l; ...`).  Last,
# a packet-mode pipe (python3): the parent holds the read end, its child
# the O_DIRECT write end it wrote three packets through (the parent's
# FILES carry the data: the packet mode is found in the other process);
# after the restore each read of the parent still gives one packet.  The
# restored tree is killed by pid at the end.
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
fail() { echo "FAIL: $*"; [ -f "$tmp/state" ] && echo "    state: $(cat "$tmp/state")"; exit 1; }
seq_=$CR_BUILD/test/crcore/helpers/vs-seq
count() { local s; s=$(cat "$tmp/state" 2>/dev/null); case "$s" in [0-9]*) echo $s;; *) echo -1;; esac; }
pid_named() { # the descendant of $root whose command line has $1
	local p
	for p in $(descendants $root); do tr '\0' ' ' </proc/$p/cmdline 2>/dev/null | grep -q -- "$1" && { echo $p; return; }; done
}

# real: the same with Debian's programs, `seq | perl -ne` (seq's stdio
# buffer and perl's line reading are part of the checkpoint)
cat >"$tmp/check.pl" <<'PL'
BEGIN { $| = 1; $n = 0; $st = shift; }
if ($_ != $n + 1) { open(F, '>', $st); print F "FAIL expected ", $n + 1, ", got $_"; close F; exit 1; }
$n++;
if ($n % 2000 == 0) { open(F, '>', "$st.tmp"); print F "$n\n"; close F; rename("$st.tmp", $st); }
select(undef, undef, undef, 0.0003) if $n % 8 == 0;
PL
# bash: both sides are bash subshells (`while :; do echo $((++n)); done |
# while read l; do ... done`), the reader taking the pipe a byte at a time
for mode in pipe fifo stream real bash; do
	[ $mode = real ] && ! [ -x /usr/bin/perl ] && { echo "SKIP real: no perl"; continue; }
	rm -f "$tmp/state" "$tmp/img" "$tmp/fifo"
	case $mode in
	fifo) mkfifo "$tmp/fifo"
	      cmd="$seq_ produce >$tmp/fifo & $seq_ consume $tmp/state <$tmp/fifo; wait";;
	real) cmd="seq 1 1000000000 | /usr/bin/perl -n $tmp/check.pl $tmp/state; wait";;
	bash) cmd='n=0; while :; do n=$((n+1)); echo $n; done | { l0=0; while read -r l; do
		[ "$l" = $((l0+1)) ] || { echo "FAIL expected $((l0+1)), got $l" >'$tmp'/state; exit 1; }
		l0=$l; [ $((l0 % 2000)) = 0 ] && echo $l0 >'$tmp'/state.tmp && mv '$tmp'/state.tmp '$tmp'/state; done; }; wait';;
	*)    cmd="$seq_ produce | $seq_ consume $tmp/state; wait";;
	esac
	"$CR_BUILD/test/crcore/helpers/vt-reaper" bash -c "$cmd" </dev/null >"$tmp/out" 2>&1 &
	reaper=$!
	# (bash reads a byte at a time: slow on a loaded machine)
	for i in $(seq 1000); do [ "$(count)" -ge 4000 ] && break; sleep 0.01; done
	[ "$(count)" -ge 4000 ] || fail "$mode: the pipeline did not start"
	root=$(cat /proc/$reaper/task/$reaper/children | tr -d ' ')
	if [ $mode = real ]; then prod=$(pid_named "seq 1"); cons=$(pid_named check.pl)
	elif [ $mode = bash ]; then set -- $(cat /proc/$root/task/$root/children); prod=$1; cons=$2
	else prod=$(pid_named produce); cons=$(pid_named consume); fi
	[ -n "$prod" ] && [ -n "$cons" ] || fail "$mode: no producer or consumer"
	# the pipe is full: the producer waits for the consumer
	if [ $mode = fifo ]; then pl=$(readlink /proc/$prod/fd/1); else pl=$(readlink /proc/$prod/fd/1); fi
	[ "$pl" = "$(readlink /proc/$cons/fd/0)" ] || fail "$mode: the two ends are not one pipe"
	if [ $mode = stream ]; then
		cr-dump $root 2>"$tmp/err" | cr-assemble 2>"$tmp/err2" || fail "$mode: $(cat "$tmp/err" "$tmp/err2")"
	else
		cr-dump -o "$tmp/img" $root 2>"$tmp/err" || fail "$mode: dump: $(cat "$tmp/err")"
		a=$(count)
		sleep 0.1
		[ "$(count)" = "$a" ] || fail "$mode: the consumer ran on after the dump killed it"
		# the data is in the image once: one Fd of the two processes
		# carries the pipe's state, the other names the pipe only
		n=$(cr-show "$tmp/img" | python3 -c '
import sys, json
holders, data = set(), 0
for r in json.load(sys.stdin)["records"]:
    for f in (r["msg"].get("fds", []) if r["name"] == "FILES" else []):
        if "pipe" in f:
            holders.add(r["msg"]["pid"])
            data += "data" in f["pipe"]
print(len(holders), data)')
		# (in bash mode a short-lived `mv` the consumer forked may hold
		# the pipe too: two holders or more, the data once)
		[ "${n% *}" -ge 2 ] && [ "${n#* }" = 1 ] ||
			fail "$mode: pipe held by / data stored: $n, not 2 1"
		cr-assemble -i "$tmp/img" 2>"$tmp/err" || fail "$mode: cr-assemble: $(cat "$tmp/err")"
	fi
	a=$(count)
	[ -d /proc/$prod ] && [ -d /proc/$cons ] || fail "$mode: not restored"
	[ "$(readlink /proc/$prod/fd/1)" = "$(readlink /proc/$cons/fd/0)" ] ||
		fail "$mode: after the restore the two ends are not one pipe"
	fl() { awk '/^flags/ {print $2}' /proc/$1/fdinfo/$2; }
	[ $(( 0$(fl $prod 1) & 3 )) = 1 ] || fail "$mode: the producer's fd 1 has flags $(fl $prod 1)"
	[ $(( 0$(fl $cons 0) & 3 )) = 0 ] || fail "$mode: the consumer's fd 0 has flags $(fl $cons 0)"
	# well past what the pipe held (64 KiB: under 13000 lines)
	want=$((a + 30000))
	for i in $(seq 1000); do
		c=$(count)
		[ "$c" -ge $want ] && break
		grep -q FAIL "$tmp/state" 2>/dev/null && break
		sleep 0.01
	done
	grep -q FAIL "$tmp/state" && fail "$mode: the consumer found a gap or a repeat"
	[ "$(count)" -ge $want ] || fail "$mode: the consumer stopped at $(count) (from $a)"
	echo "PASS $mode: $a -> $(count) lines in order"
	for p in $(descendants $root) $root; do kill -9 $p 2>/dev/null; done
	root=
	wait $reaper 2>/dev/null
done

# packet mode, the O_DIRECT end in the other process than the data's
[ -x /usr/bin/python3 ] || { echo "SKIP packet: no python3"; exit 0; }
rm -f "$tmp/out" "$tmp/ready"
cat >"$tmp/pk.py" <<'PY'
import os, signal, sys, time
d = sys.argv[1]
r, w = os.pipe2(os.O_DIRECT)       # the write end is O_DIRECT
if os.fork() == 0:
    os.close(r)
    for m in (b"one", b"packet two", b"3"):
        os.write(w, m)
    open(d + "/ready", "w").close()
    while True:
        time.sleep(1)
os.close(w)
got = []
signal.signal(signal.SIGTERM, lambda *a: got.append(1))
while not got:
    signal.pause()
msgs = [os.read(r, 100) for _ in range(3)]
print("PASS" if msgs == [b"one", b"packet two", b"3"] else "FAIL %r" % msgs, flush=True)
PY
"$CR_BUILD/test/crcore/helpers/vt-reaper" /usr/bin/python3 "$tmp/pk.py" "$tmp" </dev/null >"$tmp/out" 2>&1 &
reaper=$!
for i in $(seq 300); do [ -f "$tmp/ready" ] && break; sleep 0.01; done
[ -f "$tmp/ready" ] || fail "packet: python did not start"
root=$(cat /proc/$reaper/task/$reaper/children | tr -d ' ')
kid=$(cat /proc/$root/task/$root/children | tr -d ' ')
cr-dump -o "$tmp/img" $root 2>"$tmp/err" || fail "packet: dump: $(cat "$tmp/err")"
cr-assemble -i "$tmp/img" 2>"$tmp/err" || fail "packet: cr-assemble: $(cat "$tmp/err")"
kill -TERM $root
for i in $(seq 300); do grep -q "^PASS\|^FAIL" "$tmp/out" && break; sleep 0.01; done
grep -q ^PASS "$tmp/out" || fail "packet: the parent read $(cat "$tmp/out")"
echo "PASS packet"
