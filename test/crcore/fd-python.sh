#!/bin/bash
# A real program holding fd kinds of docs/fds.md: python3 with a pipe
# holding data, a socket pair with messages queued both ways, an eventfd,
# a UDP socket, and an epoll selector watching them (data = its keys).
# Dumped with cr-dump, killed, restored with cr-assemble; after SIGTERM
# the script checks its own fds and writes PASS.
set -u
PY=/usr/bin/python3
[ -x $PY ] || { echo "SKIP: no $PY"; exit 77; }
. "$CR_SRC/test/lib/tree.sh" # tmp, pids, fail, wait_line

cat > "$tmp/v.py" <<'PY'
import os, sys, socket, selectors, signal, time
out = open(sys.argv[1], "a", buffering=1)
r, w = os.pipe()
os.write(w, b"pipe data " * 1000)
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
a.send(b"one"); a.send(b"two"); b.send(b"back")
ev = os.eventfd(7, os.EFD_NONBLOCK)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
sel = selectors.EpollSelector()
sel.register(r, selectors.EVENT_READ, "pipe")
sel.register(b, selectors.EVENT_READ, "pair")
sel.register(ev, selectors.EVENT_READ, "eventfd")
sel.register(u, selectors.EVENT_READ, "udp")
got = []
signal.signal(signal.SIGTERM, lambda *x: got.append(1))
out.write("READY\n")
while not got:
    signal.pause()
bad = []
ready = {k.data for k, m in sel.select(1)}
if ready != {"pipe", "pair", "eventfd"}:
    bad.append("ready: %r" % sorted(ready))
if os.read(r, 100000) != b"pipe data " * 1000:
    bad.append("pipe data")
if b.recv(10) != b"one" or b.recv(10) != b"two" or a.recv(10) != b"back":
    bad.append("socket pair messages")
if os.eventfd_read(ev) != 7:
    bad.append("eventfd counter")
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.sendto(b"x", u.getsockname())
ready = {k.data for k, m in sel.select(1)}
if ready != {"udp"} or u.recv(10) != b"x":
    bad.append("udp: %r" % sorted(ready))
out.write(("FAIL: " + ", ".join(bad) if bad else "PASS") + "\n")
PY

$PY "$tmp/v.py" "$tmp/out" </dev/null >/dev/null 2>&1 &
v=$!; pids="$pids $v"
wait_line "$tmp/out" READY || fail "python did not get ready"
cr-dump -o "$tmp/img" $v 2>"$tmp/err" || fail "cr-dump failed: $(cat "$tmp/err")"
wait $v 2>/dev/null
cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" || fail "cr-assemble failed: $(cat "$tmp/err")"
r=$(cat "$tmp/pid"); pids="$pids $r"
[ "$r" = "$v" ] || fail "restored pid '$r', want $v"
kill -TERM $r
wait_line "$tmp/out" PASS || fail "the restored python did not pass"
echo PASS
