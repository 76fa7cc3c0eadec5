# Sourced by the tests that drive victims from the shell (test/crcore/
# share-*, tree-*, fd-*, tty-pty): a clean fd table, a temp dir, and
# cleanup by pid.  A test sets $root to the pid at the top of its tree
# (the original, later the restored one) and/or adds pids to $pids; on
# exit every process below $root, $root itself and every pid of $pids is
# killed.
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
root=
pids=
descendants() { # pids below $1, depth first
	local c
	for c in $(cat /proc/$1/task/*/children 2>/dev/null); do descendants $c; echo $c; done
}
cleanup() {
	if [ -n "$root" ]; then
		for p in $(descendants $root) $root; do kill -9 $p 2>/dev/null; done
	fi
	for p in $pids; do kill -9 $p 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/    victim: /' "$tmp/out"; exit 1; }
wait_line() { # FILE LINE [tenths, 100]: LINE appears in FILE
	for i in $(seq ${3:-100}); do grep -qx "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
gone() { # PID exits (or is a zombie) within 5 s
	for i in $(seq 50); do
		kill -0 $1 2>/dev/null || return 0
		grep -q '^State:.*Z' /proc/$1/status 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# Dumps victim $2 and restores it ($tmp/pid gets the restored pid), in
# form $1: "file" (cr-dump -o, which kills it, then cr-assemble -i),
# "pipe" (cr-dump | cr-assemble) or "running" (cr-dump --leave-running;
# the original must then pass its own checks on SIGTERM, writing PASS to
# $tmp/out, which is emptied for the restored one).  $3 names the case in
# failures.
roundtrip() { # FORM PID LABEL
	local form=$1 v=$2 what=$3
	case $form in
	file)
		cr-dump -o "$tmp/img" $v 2>"$tmp/err" || fail "$what: cr-dump failed: $(cat "$tmp/err")"
		wait $v 2>/dev/null
		cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" ||
			fail "$what: cr-assemble failed: $(cat "$tmp/err")";;
	pipe)
		cr-dump $v 2>"$tmp/err" | cr-assemble --pidfile "$tmp/pid" 2>"$tmp/err2" ||
			fail "$what: cr-dump | cr-assemble failed: $(cat "$tmp/err" "$tmp/err2")"
		wait $v 2>/dev/null;;
	running)
		cr-dump --leave-running -o "$tmp/img" $v 2>"$tmp/err" ||
			fail "$what: cr-dump --leave-running failed: $(cat "$tmp/err")"
		kill -TERM $v || fail "$what: the original died with --leave-running"
		wait_line "$tmp/out" PASS || fail "$what: the original did not pass after the dump"
		wait $v 2>/dev/null
		: > "$tmp/out"
		cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" ||
			fail "$what: cr-assemble failed: $(cat "$tmp/err")";;
	*)
		fail "roundtrip: unknown form $form";;
	esac
}
