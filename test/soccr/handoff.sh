#!/bin/bash
# A connection moves from one server process to a running backend in the
# middle of a two-way bulk transfer, on the same host (loopback), with
# the tools only:
#   cr-tcp lock -p A -f FD -- sh -c 'cr-tcp save -p A -f FD --detach |
#                                    cr-tcp restore --send-to backend.sock'
# The client checks every byte of both streams and must see no reset; the
# backend checks the rest of the client's stream.  IPv4, then IPv6.
set -u
B=$CR_BUILD/test/soccr/helpers/bulk
dir=$(mktemp -d /tmp/soccr-handoff.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$dir"/*.log; do [ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f"; done; exit 1; }

cr-tcp lock -h >/dev/null || fail "cr-tcp not found"
nft list tables >/dev/null 2>&1 || { echo "nftables not usable here"; exit 77; }

TOTAL=$((256 * 1024 * 1024))

# $1: address, $2: port, $3: how the old socket leaves the server:
# --detach (it stays an fd there, closed) or --close (the fd is closed in
# the server by a system call run inside it, libcompel)
run() {
	local addr=$1 port=$2 mode=$3 a c b fd sent rcvd
	rm -f "$dir/state" "$dir/b.sock"
	if true; then
		"$B" backend "$dir/b.sock" "$dir/state" "$TOTAL" 2>"$dir/backend.log" &
		b=$!; pids+=("$b")
	fi
	"$B" server "$addr" "$port" "$TOTAL" "$dir/state" 2>"$dir/server.log" &
	a=$!; pids+=("$a")
	sleep 0.2
	"$B" client "$addr" "$port" "$TOTAL" 2>"$dir/client.log" &
	c=$!; pids+=("$c")
	sleep 0.3
	kill -0 "$c" 2>/dev/null || fail "client ended before the hand-off"
	kill -USR1 "$a"
	for i in $(seq 100); do [ -f "$dir/state" ] && break; sleep 0.05; done
	[ -f "$dir/state" ] || fail "server did not stop"
	read -r fd sent rcvd < "$dir/state"
	echo "hand-off ($mode, $addr) at sent $sent received $rcvd of $TOTAL"
	for i in $(seq 100); do [ -S "$dir/b.sock" ] && break; sleep 0.05; done
	cr-tcp lock -p "$a" -f "$fd" -- sh -c \
		"cr-tcp save -p $a -f $fd $mode | cr-tcp restore --send-to $dir/b.sock" \
		2>"$dir/crtcp.log" || fail "cr-tcp failed ($?)"
	if [ "$mode" = --close ]; then
		[ -e /proc/$a/fd/$fd ] && fail "fd $fd is still open in the server after --close"
		kill -0 "$a" || fail "the server died of --close"
	fi
	# The old server's socket is in repair mode and detached: killing it
	# sends nothing.
	kill -9 "$a"; wait "$a" 2>/dev/null
	wait "$c" || fail "client failed"
	wait "$b" || fail "backend failed"
	cat "$dir/backend.log"
	grep -q "all correct" "$dir/client.log" || fail "client did not finish"
	cat "$dir/client.log"
	# No lock left behind (tables of live processes are someone's live
	# locks, e.g. a concurrent test run).
	for t in $(nft list tables | sed -n 's/^table inet soccr_lock_\([0-9]*\)_.*/\1/p'); do
		kill -0 "$t" 2>/dev/null || fail "a lock table of dead process $t was left behind"
	done
	return 0
}

run 127.0.0.1 $((20000 + RANDOM % 20000)) --detach
run ::1 $((20000 + RANDOM % 20000)) --detach
if [ -e "$CR_BUILD/lib/libcompel.so.0" ]; then
	run 127.0.0.1 $((20000 + RANDOM % 20000)) --close
else
	echo "libcompel not built: --close not tested"
fi
echo PASS
