# Sourced by the tree tests (test/crcore/share-*.sh): a clean fd table,
# a temp dir, and cleanup of the whole victim tree by pid.  A test sets
# $root to the pid at the top of its tree (the original, later the
# restored one); on exit every process below it and itself is killed.
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
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/    victim: /' "$tmp/out"; exit 1; }
