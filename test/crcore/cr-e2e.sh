#!/bin/bash
# cr-e2e: every restore victim (test/crcore/helpers/v-*) through the real
# dump, each in four forms:
#   kill    cr-dump -o IMG PID (kills it), cr-assemble -i IMG
#   leave   cr-dump --leave-running, then the original is killed, cr-assemble
#   pipe    cr-dump PID | cr-assemble (no file in between)
#   nobody  the victim runs as user nobody, root dumps and restores it
#   zstd    cr-dump PID | zstd -c | zstd -dc | cr-assemble (if zstd is there)
#   exec    as kill, with the stages as separate programs chained by
#           execve (cr-dump --exec-stages: cr-freeze, cr-parasite, cr-dumpmm)
#   proxy   as kill, restored through the vDSO proxy (cr-assemble
#           --vdso-proxy), the path of an image from another kernel build
# The restored process checks its own state after SIGTERM and writes PASS.
set -u
# the victims must not inherit fds from whoever runs us
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
H=$CR_BUILD/test/crcore/helpers
dir=$(mktemp -d /tmp/cr-e2e.XXXXXX)
chmod 1777 "$dir"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
out=
fail() {
	echo "FAIL: $*"
	[ -n "$out" ] && [ -f "$out" ] && sed 's/^/  victim: /' "$out"
	exit 1
}
wait_line() { # FILE LINE MS
	local i
	for ((i = 0; i < $3 / 10; i++)); do
		grep -qx "$2" "$1" 2>/dev/null && return 0
		sleep 0.01
	done
	return 1
}

run() { # VICTIM MODE
	local vic=$1 mode=$2 wd img pf v p
	out=$dir/$vic-$mode.out
	wd=$dir/$vic-$mode.d
	img=$dir/$vic-$mode.img
	pf=$dir/$vic-$mode.pid
	mkdir -p "$wd" && chmod 777 "$wd"
	if [ "$mode" = nobody ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$H/$vic" "$out" "$wd" </dev/null >/dev/null 2>&1 &
	else
		"$H/$vic" "$out" "$wd" </dev/null >/dev/null 2>&1 &
	fi
	v=$!
	pids+=("$v")
	if ! wait_line "$out" READY 5000; then
		grep -qx SKIP "$out" 2>/dev/null && { echo "$vic $mode: skipped by the victim"; wait "$v"; return 0; }
		fail "$vic $mode: the victim did not get ready"
	fi
	case $mode in
	kill | nobody | proxy | exec)
		if [ "$mode" = exec ]; then
			cr-dump --exec-stages -o "$img" "$v" 2>"$dir/err" || fail "$vic $mode: cr-dump: $(cat "$dir/err")"
		else
			cr-dump -o "$img" "$v" 2>"$dir/err" || fail "$vic $mode: cr-dump: $(cat "$dir/err")"
		fi
		wait "$v" 2>/dev/null
		if [ "$mode" = proxy ]; then
			cr-assemble --vdso-proxy -i "$img" --pidfile "$pf" || fail "$vic $mode: cr-assemble failed"
		else
			cr-assemble -i "$img" --pidfile "$pf" || fail "$vic $mode: cr-assemble failed"
		fi
		;;
	leave)
		cr-dump --leave-running -o "$img" "$v" 2>"$dir/err" || fail "$vic $mode: cr-dump: $(cat "$dir/err")"
		kill -0 "$v" || fail "$vic $mode: the original did not keep running"
		kill -9 "$v"
		wait "$v" 2>/dev/null
		cr-assemble -i "$img" --pidfile "$pf" || fail "$vic $mode: cr-assemble failed"
		;;
	pipe)
		cr-dump "$v" 2>"$dir/err" | cr-assemble --pidfile "$pf" ||
			fail "$vic $mode: cr-dump | cr-assemble failed: $(cat "$dir/err")"
		wait "$v" 2>/dev/null
		;;
	zstd)
		cr-dump "$v" 2>"$dir/err" | zstd -q -c | zstd -q -dc | cr-assemble --pidfile "$pf" ||
			fail "$vic $mode: cr-dump | zstd | zstd -d | cr-assemble failed: $(cat "$dir/err")"
		wait "$v" 2>/dev/null
		;;
	esac
	p=$(cat "$pf" 2>/dev/null)
	[ "$p" = "$v" ] || fail "$vic $mode: restored pid '$p', the original was $v"
	pids+=("$p")
	if [ "$mode" = nobody ]; then
		grep -q "^Uid:[[:space:]]*65534[[:space:]]" "/proc/$p/status" || fail "$vic $mode: not restored as nobody"
	fi
	kill -TERM "$p"
	wait_line "$out" PASS 5000 || fail "$vic $mode: the restored process did not pass its checks"
	echo "$vic $mode: PASS"
}

command -v setpriv >/dev/null || { echo "setpriv is missing"; exit 77; }
modes="kill exec leave pipe nobody proxy"
command -v zstd >/dev/null && modes="$modes zstd"
for vic in v-basic v-threads v-misc v-files v-robust; do
	for mode in $modes; do
		run "$vic" "$mode"
	done
done
echo PASS
