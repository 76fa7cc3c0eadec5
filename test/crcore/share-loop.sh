#!/bin/bash
# An event loop across two processes: vs-loop (a parent and its forked
# child, each in epoll_wait; the parent's periodic timerfd sends ticks
# over a socket pair, the child answers each and adds 1 to an eventfd
# both hold since the fork; a signalfd made before the fork, so held by
# both) is dumped, killed and restored by cr-assemble.  The ticks go on
# from where they were; after SIGUSR1 (read through the signalfd) the
# child checks it answered every tick in order and the parent that every
# tock came back and the shared eventfd (one description: the child's
# adds are the parent's reads) summed to their number: both print PASS.  The restored tree is killed by pid at the end.
set -u
. "$CR_SRC/test/lib/tree.sh"
count() { local s; s=$(cat "$tmp/count" 2>/dev/null); echo ${s:-0}; }

"$CR_BUILD/test/crcore/helpers/vt-reaper" "$CR_BUILD/test/crcore/helpers/vs-loop" "$tmp" </dev/null >"$tmp/out" 2>&1 &
reaper=$!
for i in $(seq 500); do [ "$(count)" -ge 20 ] && break; sleep 0.01; done
[ "$(count)" -ge 20 ] || fail "the loop did not start"
root=$(cat /proc/$reaper/task/$reaper/children | tr -d ' ')
kid=$(cat /proc/$root/task/$root/children | tr -d ' ')
[ -n "$kid" ] || fail "no child"
cr-dump -o "$tmp/img" $root 2>"$tmp/err" || fail "dump: $(cat "$tmp/err")"
a=$(count)
sleep 0.1
[ "$(count)" = "$a" ] || fail "the loop ran on after the dump killed it"
cr-assemble -i "$tmp/img" 2>"$tmp/err" || fail "cr-assemble: $(cat "$tmp/err")"
for i in $(seq 500); do [ "$(count)" -ge $((a + 20)) ] && break; sleep 0.01; done
[ "$(count)" -ge $((a + 20)) ] || fail "the ticks did not go on: $a -> $(count)"
kill -USR1 $root
for i in $(seq 500); do [ "$(grep -c ^PASS "$tmp/out")" = 2 ] && break; grep -q ^FAIL "$tmp/out" && break; sleep 0.01; done
grep -q ^FAIL "$tmp/out" && fail "a restored process failed its checks"
[ "$(grep -c ^PASS "$tmp/out")" = 2 ] || fail "$(grep -c ^PASS "$tmp/out") PASS lines, not 2"
echo "PASS: ticks $a -> $(count); $(tr '\n' ';' <"$tmp/out")"
