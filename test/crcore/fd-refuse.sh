#!/bin/bash
# What fd-dump refuses is refused before anything changes: cr-dump exits
# 4 with a message naming the fd and what it is, and the victim runs on
# untraced and passes its own check after SIGTERM (docs/fds.md).
set -u
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
v=
cleanup() { [ -n "$v" ] && kill -9 $v 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
wait_line() { for i in $(seq 50); do grep -qx "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

for c in "r-scm:fd [0-9]+ is a unix socket with fds in flight \(SCM_RIGHTS\)" \
	"r-epoll:fd [0-9]+ is an epoll fd watching fd [0-9]+, which is closed" \
	"r-lease:fd [0-9]+ holds a LEASE" \
	"r-lockmap:fd [0-9]+ holds a POSIX lock on a file the process also maps" \
	"r-tcp:fd [0-9]+ is a socket \(TCP, not listening.*established TCP is not supported yet" \
	"r-fifo:fd [0-9]+ is a FIFO .* whose name is gone"; do
	m=${c%%:*} re=${c#*:}
	rm -f "$tmp/out"
	"$CR_BUILD/test/crcore/helpers/vf-kinds" "$tmp/out" $m </dev/null >/dev/null 2>&1 &
	v=$!
	wait_line "$tmp/out" READY || fail "$m: the victim did not get ready: $(cat "$tmp/out")"
	cr-dump -o "$tmp/img" $v >/dev/null 2>"$tmp/err"; rc=$?
	[ $rc = 4 ] || fail "$m: cr-dump exited $rc, not 4: $(cat "$tmp/err")"
	grep -Eq "$re" "$tmp/err" || fail "$m: cr-dump said '$(cat "$tmp/err")', expected /$re/"
	grep -q "^TracerPid:[[:space:]]*0" /proc/$v/status || fail "$m: the victim is still traced"
	kill -TERM $v
	wait_line "$tmp/out" PASS || fail "$m: the victim did not pass after the refusal: $(cat "$tmp/out")"
	wait $v; v=
done
echo PASS
