#!/bin/bash
# A shell job (docs/ttys.md): vy-pty runs with fds 0-2 on a terminal it
# does not own (a pty the test holds, its controlling terminal, as a
# program started from an interactive shell).  cr-dump refuses it
# without --shell-job, naming the option, and the victim runs on; with
# it, the victim is dumped and killed, and `cr-assemble --shell-job
# --wait` restores it under another terminal.  The restored victim
# checks that fds 0-2 (and the /dev/tty it opened at fd 3) are the new
# terminal, whose foreground group it is in,
# says ASK on it, reads the PING the test types and answers GOT PING.
set -u
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
[ -x /usr/bin/python3 ] || { echo "SKIP: python3 is needed to drive the terminals"; exit 77; }
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$CR_BUILD" "$tmp" <<'PY'
import os, pty, select, signal, subprocess, sys, time

build, tmp = sys.argv[1], sys.argv[2]
victim = build + "/test/crcore/helpers/vy-pty"
out, img, pidfile = tmp + "/out", tmp + "/img", tmp + "/pid"
pids = []

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.environ["CR_SRC"] + "/test/lib")
from ptytest import *  # fail, has_line, read_until, converse, alive...
setup(out)

try:
    # the original: a session of its own on terminal 1 (pty.fork: setsid, TIOCSCTTY)
    v, t1 = pty.fork()
    if v == 0:
        os.execv(victim, [victim, out, "caller"])
    pids.append(v)
    if not has_line("READY"):
        fail("the victim did not get ready")
    r = subprocess.run(["cr-dump", "-o", img, str(v)], capture_output=True, text=True)
    if r.returncode != 4 or "--shell-job" not in r.stderr:
        fail("cr-dump without --shell-job exited %d: %s" % (r.returncode, r.stderr.strip()))
    if not alive(v):
        fail("the victim died after the refusal")
    r = subprocess.run(["cr-dump", "--shell-job", "-o", img, str(v)], capture_output=True, text=True)
    if r.returncode != 0:
        fail("cr-dump --shell-job failed: " + r.stderr.strip())
    os.waitpid(v, 0)
    pids.remove(v)
    # a restore without --shell-job is refused, naming it
    r = subprocess.run(["cr-assemble", "-i", img], capture_output=True, text=True)
    if r.returncode == 0 or "--shell-job" not in r.stderr:
        fail("cr-assemble without --shell-job exited %d: %s" % (r.returncode, r.stderr.strip()))
    # the restore, run from terminal 2 as its foreground job
    a, t2 = pty.fork()
    if a == 0:
        os.execvp("cr-assemble", ["cr-assemble", "--shell-job", "--wait", "-i", img,
                                  "--pidfile", pidfile])
    pids.append(a)
    for i in range(100):
        if os.path.exists(pidfile) and open(pidfile).read().strip():
            break
        time.sleep(0.05)
    else:
        fail("cr-assemble wrote no pid: " + read_until(t2, b"\0", 0.5)[1].decode(errors="replace"))
    rp = int(open(pidfile).read())
    if rp != v:
        fail("restored pid %d, want %d" % (rp, v))
    pids.append(rp)
    os.kill(rp, signal.SIGTERM)
    converse(t2, b"ASK", b"PING", b"GOT PING", "the restored victim")
    if not has_line("PASS"):
        fail("the restored victim did not pass")
    _, st = os.waitpid(a, 0)
    pids.remove(a)
    if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
        fail("cr-assemble --wait ended with status %#x" % st)
    print("PASS")
finally:
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
PY
