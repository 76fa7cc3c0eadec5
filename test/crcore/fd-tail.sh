#!/bin/bash
# tail -F (inotify watches on the file and its directory, blocked in a
# wait) is dumped, killed and restored, and follows the file on: lines
# appended after the restore, then the file replaced by a new one, come
# out once each.  The watches must be the same (wd, mask, inode) after
# the restore.  tail waits in poll() with a timeout, which the freeze
# interrupts with -ERESTART_RESTARTBLOCK: the restore must re-execute the
# poll (the kernel's restart block does not travel), or tail fails with
# "error waiting for inotify and output events".
set -u
TAIL=/usr/bin/tail
. "$CR_SRC/test/lib/tree.sh" # tmp, pids, fail, wait_line

echo one > "$tmp/log"
$TAIL -n +1 -F "$tmp/log" </dev/null >"$tmp/out" 2>"$tmp/tail-err" &
v=$!; pids="$pids $v"
wait_line "$tmp/out" one || fail "tail did not start"
echo two >> "$tmp/log"
wait_line "$tmp/out" two || fail "tail did not follow before the dump"
watches() { grep -h '^inotify' /proc/$1/fdinfo/* 2>/dev/null | awk '{print $2, $3, $5}' | sort; }
before=$(watches $v)
[ -n "$before" ] || { echo "SKIP: this tail does not use inotify"; exit 77; }
cr-dump -o "$tmp/img" $v 2>"$tmp/err" || fail "cr-dump failed: $(cat "$tmp/err")"
wait $v 2>/dev/null
cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" || fail "cr-assemble failed: $(cat "$tmp/err")"
r=$(cat "$tmp/pid"); pids="$pids $r"
[ "$r" = "$v" ] || fail "restored pid '$r', want $v"
known() {
	sleep 0.1
	[ -s "$tmp/tail-err" ] && echo "tail said: $(cat "$tmp/tail-err")"
}
now=$(watches $r)
[ "$now" = "$before" ] || { known; fail "inotify watches differ: '$now', want '$before'"; }
echo three >> "$tmp/log"
wait_line "$tmp/out" three || { known; fail "the restored tail did not follow the file: $(cat "$tmp/tail-err")"; }
# rotated: a new file under the name
mv "$tmp/log" "$tmp/log.1"; echo four > "$tmp/log"
wait_line "$tmp/out" four || fail "the restored tail did not follow the new file"
[ "$(tr '\n' ' ' < "$tmp/out")" = "one two three four " ] || fail "tail wrote: $(tr '\n' ' ' < "$tmp/out")"
echo PASS
