#!/bin/bash
# A process with thousands of fds: python3 raises its fd limit, holds
# 5000 dups of /dev/null, 200 pipes with a message in each and 200 unix
# socket pairs with one queued each way; it is dumped, killed, restored,
# and checks every fd after SIGTERM (each pipe and socket gives back its
# own message).  There is no limit on the number of fds; the lookups of
# who else holds a pipe or socket are one pass over /proc, not one per fd
# (5200 fds took 1.9 s to dump with a kcmp and a /proc scan per fd, now
# 0.3 s).
set -u
. "$CR_SRC/test/lib/tree.sh"
cat >"$tmp/many.py" <<'PY'
import os, signal, socket, sys, resource
out = sys.argv[1]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard < 8000:
    open(out, "w").write("SKIP fd limit %d\n" % hard); sys.exit(0)
resource.setrlimit(resource.RLIMIT_NOFILE, (8000, hard))
null = os.open("/dev/null", os.O_RDONLY)
fds = [os.dup(null) for _ in range(5000)]
pipes = [os.pipe() for _ in range(200)]
for i, (r, w) in enumerate(pipes):
    os.write(w, b"p%d" % i)
pairs = [socket.socketpair() for _ in range(200)]
for i, (a, b) in enumerate(pairs):
    a.send(b"a%d" % i); b.send(b"b%d" % i)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
open(out, "w").write("READY\n")
signal.sigwait({signal.SIGTERM})
bad = [fd for fd in fds if os.readlink("/proc/self/fd/%d" % fd) != "/dev/null"]
bad += ["pipe %d" % i for i, (r, w) in enumerate(pipes) if os.read(r, 100) != b"p%d" % i]
bad += ["pair %d" % i for i, (a, b) in enumerate(pairs)
        if b.recv(100) != b"a%d" % i or a.recv(100) != b"b%d" % i]
n = len(os.listdir("/proc/self/fd"))
open(out, "a").write("PASS %d fds\n" % n if not bad else "FAIL %s\n" % bad[:8])
PY
python3 "$tmp/many.py" "$tmp/out" </dev/null >/dev/null 2>&1 &
root=$!
for i in $(seq 1000); do grep -q "READY\|SKIP" "$tmp/out" 2>/dev/null && break; sleep 0.01; done
grep -q SKIP "$tmp/out" && { cat "$tmp/out"; exit 77; }
grep -q READY "$tmp/out" || fail "the victim did not start"
n=$(ls /proc/$root/fd | wc -l)
[ "$n" -gt 5000 ] || fail "the victim holds only $n fds"
cr-dump -o "$tmp/img" $root 2>"$tmp/err" || fail "dump: $(cat "$tmp/err")"
for i in $(seq 500); do kill -0 $root 2>/dev/null || break; sleep 0.01; done
cr-assemble -i "$tmp/img" 2>"$tmp/err" || fail "cr-assemble: $(cat "$tmp/err")"
kill -TERM $root
for i in $(seq 1000); do grep -q "^PASS\|^FAIL" "$tmp/out" && break; sleep 0.01; done
grep -q "^PASS" "$tmp/out" || fail "the restored process failed its checks"
echo "PASS: $n fds before the dump; $(grep ^PASS "$tmp/out")"
