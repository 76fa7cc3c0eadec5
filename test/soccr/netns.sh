#!/bin/bash
# A connection moves to another "host" that takes over the service
# address, in the middle of a two-way bulk transfer.
#
#   ns C (client) -- br0 --+-- veth -- ns A (server, owns 10.x.y.1)
#                          +-- veth -- ns B (takes 10.x.y.1 over)
#
# The old socket stays in A, frozen (repair mode, drop filter): no lock is
# needed, A drops the client's packets and never resets them.  The address
# moves from A to B, B restores the connection and execs the rest of the
# server with `cr-tcp restore -- PROGRAM`, and the client is told the new
# MAC (as a gratuitous ARP would).  The client checks every byte both ways
# and must see no reset.  IPv4, then IPv6.  Everything created here is
# removed on exit.
set -u
B=$CR_BUILD/test/soccr/helpers/bulk
tag=crs$$
C=$tag-c; A=$tag-a; H=$tag-b
net=10.$((100 + RANDOM % 100)).$((RANDOM % 250))
dir=$(mktemp -d /tmp/soccr-netns.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for n in $C $A $H; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$dir"/*.log; do [ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f"; done; exit 1; }

ip netns add $C 2>/dev/null || { echo "cannot create network namespaces"; exit 77; }
ip netns add $A && ip netns add $H || fail "ip netns add"
ip -n $C link add br0 type bridge && ip -n $C link set br0 up &&
ip -n $C link add pa type veth peer name eth0 netns $A &&
ip -n $C link add pb type veth peer name eth0 netns $H &&
ip -n $C link set pa master br0 && ip -n $C link set pb master br0 &&
ip -n $C link set pa up && ip -n $C link set pb up &&
ip -n $C addr add $net.100/24 dev br0 &&
for n in $A $H; do ip -n $n link set lo up && ip -n $n link set eth0 up || exit 1; done ||
	fail "cannot build the network"

TOTAL=$((512 * 1024 * 1024))
v6=fd$(printf %02x $((RANDOM % 256))):$(printf %x $RANDOM)::

# move SERVICE-ADDRESS PREFIXLEN: one hand-off of a bulk transfer.
move() {
	local sa=$1 plen=$2 a c r srv fd sent rcvd mac
	rm -f "$dir/state"
	ip -n $A addr add $sa/$plen dev eth0 nodad 2>/dev/null || ip -n $A addr add $sa/$plen dev eth0 ||
		fail "addr add in A"
	PORT=$((20000 + RANDOM % 20000))
	ip netns exec $A "$B" server $sa $PORT $TOTAL "$dir/state" 2>"$dir/server.log" &
	a=$!; pids+=("$a")
	ip netns exec $C "$B" client $sa $PORT $TOTAL 2>"$dir/client.log" &
	c=$!; pids+=("$c")
	sleep 0.5
	kill -0 "$c" 2>/dev/null || fail "client ended before the hand-off"
	srv=$a   # ip netns exec execs the program
	kill -USR1 "$srv"
	for i in $(seq 100); do [ -f "$dir/state" ] && break; sleep 0.05; done
	[ -f "$dir/state" ] || fail "server did not stop"
	read -r fd sent rcvd < "$dir/state"
	echo "hand-off of $sa at sent $sent received $rcvd of $TOTAL"

	ip netns exec $A cr-tcp save -p "$srv" -f "$fd" -o "$dir/conn.img" 2>"$dir/save.log" || fail "cr-tcp save"
	ip -n $A addr del $sa/$plen dev eth0 || fail "addr del"
	ip -n $H addr add $sa/$plen dev eth0 nodad 2>/dev/null || ip -n $H addr add $sa/$plen dev eth0 ||
		fail "addr add in B"
	ip netns exec $H cr-tcp restore -i "$dir/conn.img" -- "$B" resume "$sent" "$rcvd" $TOTAL \
		2>"$dir/resume.log" &
	r=$!; pids+=("$r")
	# What a gratuitous ARP (unsolicited neighbour advertisement) from B
	# does: the client learns B's MAC.
	mac=$(ip -n $H -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	sleep 0.1
	ip -n $C neigh replace $sa lladdr "$mac" dev br0 nud reachable || fail "neigh"
	wait "$c" || fail "client failed"
	wait "$r" || fail "restored server failed"
	kill -9 "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
	ip -n $H addr del $sa/$plen dev eth0
	cat "$dir/client.log"
}

ip -n $C addr add ${v6}100/64 dev br0 nodad || fail "v6 addr"
move $net.1 24
move ${v6}1 64
echo PASS
