#!/bin/bash
# cr-tcp says clearly what is wrong, with the exit codes of cr-tcp(1):
# (and, at the end, a listener with pending connections goes through it)
# no such process or fd (6), not a TCP socket (4), a state it cannot
# save (4), no CAP_NET_ADMIN (3), an address not present on this host (1),
# a corrupted image (5), a missing image file (6), a bad command line (2).
set -u
H=$CR_BUILD/test/soccr/helpers/holdsock
dir=$(mktemp -d /tmp/soccr-tool.XXXXXX)
pids=()
ns=crs-err-$$
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del $ns 2>/dev/null; ip netns del $ns-2 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fails=0
# expect CODE PATTERN COMMAND...: exit status and a message on stderr.
expect() {
	local code=$1 pat=$2 rc; shift 2
	"$@" >"$dir/out" 2>"$dir/err"; rc=$?
	if [ $rc != "$code" ] || ! grep -qi -- "$pat" "$dir/err"; then
		echo "FAIL: '$*' gave $rc ($(cat "$dir/err")), want $code and '$pat'"
		fails=$((fails + 1))
	else
		echo "ok: $* -> $rc: $(head -n1 "$dir/err")"
	fi
}
# hold MODE [ARG]: starts holdsock, sets HP to its pid once it is ready.
nh=0
hold() {
	nh=$((nh + 1))
	"$@" > "$dir/ready.$nh" &
	HP=$!; pids+=("$HP")
	for i in $(seq 100); do grep -q ready "$dir/ready.$nh" && return 0; sleep 0.02; done
	echo "FAIL: $* did not start"; exit 1
}

expect 2 "needs -p PID" cr-tcp save
expect 2 "unknown command" cr-tcp frobnicate
expect 6 "no such process" cr-tcp save -p 999999999 -f 3
hold "$H" unconnected; p=$HP
expect 6 "has no fd 99" cr-tcp save -p "$p" -f 99
expect 4 "not a TCP socket" cr-tcp save -p $$ -f 1
expect 4 "state CLOSE" cr-tcp save -p "$p" -f 5
hold "$H" udp; u=$HP
expect 4 "not a TCP socket" cr-tcp save -p "$u" -f 5
hold "$H" pair; c=$HP
if command -v capsh >/dev/null; then
	expect 3 "CAP_NET_ADMIN" capsh --drop=cap_net_admin -- -c "exec cr-tcp save -p $c -f 5"
fi
# The pair is still usable after a refused save; now take it.
cr-tcp save -p "$c" -f 5 -o "$dir/conn.img" || { echo "FAIL: save"; exit 1; }
expect 6 "cannot open" cr-tcp restore -i "$dir/nope.img" -- true
expect 6 "cannot connect to" cr-tcp restore -i "$dir/conn.img" --send-to "$dir/nobody.sock"
# An address not on this host: a connection over a veth's
# address in one namespace, restored in another that lacks it.
if ip netns add $ns 2>/dev/null && ip netns add $ns-2 2>/dev/null; then
	ip -n $ns link set lo up && ip -n $ns-2 link set lo up &&
	ip -n $ns link add d0 type veth peer name d1 && ip -n $ns link set d0 up && ip -n $ns link set d1 up &&
	ip -n $ns addr add 10.211.0.1/24 dev d0 || { echo "FAIL: netns setup"; exit 1; }
	hold ip netns exec $ns "$H" pair 10.211.0.1; d=$HP
	ip netns exec $ns cr-tcp save -p "$d" -f 5 -o "$dir/d.img" || { echo "FAIL: save in $ns"; exit 1; }
	expect 1 "not present on this host" ip netns exec $ns-2 cr-tcp restore -i "$dir/d.img" -- true
fi
# Corrupted: a byte flipped in the middle of the records.
size=$(stat -c %s "$dir/conn.img")
cp "$dir/conn.img" "$dir/bad.img"
printf '\xff' | dd of="$dir/bad.img" bs=1 seek=$((size / 2)) conv=notrunc status=none
expect 5 "" cr-tcp restore -i "$dir/bad.img" -- true
head -c $((size - 10)) "$dir/conn.img" > "$dir/short.img"
expect 5 "" cr-tcp restore -i "$dir/short.img" -- true
# A listener with three pending connections, through the tool: the
# program gets the listener on fd 3, the connections on 4..6, and
# CR_TCP_FDS=4.
hold "$H" listen 3; L=$HP
if cr-tcp save -p "$L" -f 5 --detach | cr-tcp restore -- "$H" check 3; then
	echo "ok: listener with its accept queue through cr-tcp"
else
	echo "FAIL: listener through cr-tcp"; fails=$((fails + 1))
fi
[ $fails = 0 ] || exit 1
echo PASS
