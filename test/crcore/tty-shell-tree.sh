#!/bin/bash
# A shell job that is a tree (docs/ttys.md, "Shell jobs"), under a pty
# the test holds, its root leading the session and group (python's
# pty.fork, as a terminal emulator starts a shell):
# 1. vy-jobtree (r; a in r's group with /dev/tty at fd 3 and a pipe to r;
#    b its own group with c; d its own session).  cr-dump without
#    --shell-job refuses, naming the option, and the tree runs on; with
#    it the tree is dumped and killed; cr-assemble without --shell-job
#    refuses, naming it; `cr-assemble --shell-job --wait` under a second
#    pty (as its foreground job) brings every pid back, r and a in
#    cr-assemble's group and session, b and c in its session in b's
#    group, d in its own session.  The victims check the terminal
#    themselves: r and a read the PING typed for each and answer; r
#    exits 42 once every child passed, which cr-assemble --wait returns.
# 2. a bash pipeline, `while read l; do echo "got $l"; done | tr a-z
#    A-Z; exit 7`, as a job of an interactive shell: bash leads its group,
#    the terminal's foreground one, in the session of the "shell" (the
#    pty's session leader, which waits for it).  The same dump and
#    restore; the three processes in cr-assemble's group and session;
#    "ping" typed at the new terminal comes out as "GOT PING", an EOF
#    ends the pipeline and cr-assemble exits 7.
set -u
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
[ -x /usr/bin/python3 ] || { echo "SKIP: python3 is needed to drive the terminals"; exit 77; }
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$CR_BUILD" "$tmp" <<'PY'
import os, pty, select, signal, subprocess, sys, time

build, tmp = sys.argv[1], sys.argv[2]
victim = build + "/test/crcore/helpers/vy-jobtree"
out, img, pidfile = tmp + "/out", tmp + "/img", tmp + "/pid"
pids = []    # cr-assemble and the roots (waited for), then the restored trees
others = []  # the originals' processes

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.environ["CR_SRC"] + "/test/lib")
from ptytest import *  # fail, has_line, read_until, converse, stat, alive, children, gone
setup(out)

def start(argv):
    v, t = pty.fork()
    if v == 0:
        os.closerange(3, 4096)
        os.execv(argv[0], argv)
    pids.append(v)
    return v, t

def dump(v, tree, parent=None):
    """parent: our child that waits for v (v itself if None)"""
    # without --shell-job: refused, naming it, the tree runs on
    r = subprocess.run(["cr-dump", "-o", img, str(v)], capture_output=True, text=True)
    if r.returncode != 4 or "--shell-job" not in r.stderr:
        fail("cr-dump without --shell-job exited %d: %s" % (r.returncode, r.stderr.strip()))
    for p in tree:
        if not alive(p):
            fail("process %d died after the refusal" % p)
    r = subprocess.run(["cr-dump", "--shell-job", "-o", img, str(v)], capture_output=True, text=True)
    if r.returncode != 0:
        fail("cr-dump --shell-job failed: " + r.stderr.strip())
    parent = parent or v
    os.waitpid(parent, 0)
    pids.remove(parent)
    for p in tree:
        if not gone(p):
            fail("process %d is still there after the dump" % p)
    # a restore without --shell-job is refused, naming it
    r = subprocess.run(["cr-assemble", "-i", img], capture_output=True, text=True)
    if r.returncode == 0 or "--shell-job" not in r.stderr:
        fail("cr-assemble without --shell-job exited %d: %s" % (r.returncode, r.stderr.strip()))

def restore(v, tree):
    """cr-assemble --shell-job --wait as the foreground job of a new pty"""
    if os.path.exists(pidfile):
        os.unlink(pidfile)
    a, t2 = start(["/usr/bin/env", "cr-assemble", "--shell-job", "--wait", "-i", img,
                   "--pidfile", pidfile])
    for i in range(200):
        if os.path.exists(pidfile) and open(pidfile).read().strip():
            break
        if not alive(a):
            break
        time.sleep(0.05)
    else:
        fail("cr-assemble wrote no pid: %r" % read_until(t2, b"\0", 0.5)[1])
    if not os.path.exists(pidfile):
        fail("cr-assemble failed: %r" % read_until(t2, b"\0", 0.5)[1])
    rp = int(open(pidfile).read())
    pids.extend(tree)
    if rp != v:
        fail("restored root %d, want %d" % (rp, v))
    ast = stat(a)
    # cr-assemble leads its session and group (pty.fork), the terminal's foreground
    if ast is None or ast[2] != a or ast[3] != a:
        fail("cr-assemble %d: %r" % (a, ast))
    return a, t2

def check_shape(a, want):
    """want: pid -> (ppid, pgid, sid), 'A' for cr-assemble's"""
    for p, w in want.items():
        s = stat(p)
        if s is None or s[0] in "ZX":
            fail("process %d was not restored (%r)" % (p, s))
        w = tuple(a if x == "A" else x for x in w)
        if s[1:] != w:
            fail("process %d: ppid, pgid, sid %r, want %r" % (p, s[1:], w))
        print("process %d: ppid %d pgid %d sid %d" % ((p,) + s[1:]))

def expect_exit(a, code):
    end = time.time() + 20
    while time.time() < end:
        w, st = os.waitpid(a, os.WNOHANG)
        if w == a:
            pids.remove(a)
            if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != code:
                fail("cr-assemble --wait ended with status %#x, want exit %d" % (st, code))
            return
        time.sleep(0.05)
    fail("cr-assemble --wait did not end")

try:
    # ---- 1. vy-jobtree -----------------------------------------------------
    v, t1 = start([victim, out])
    if not has_line("READY"):
        fail("the victim did not get ready")
    ids = [int(x) for x in [l for l in lines() if l.startswith("PIDS ")][0].split()[1:]]
    r, pa, pb, pc, pd = ids
    others.extend(ids)
    if r != v:
        fail("PIDS names %d, not %d" % (r, v))
    dump(v, ids)
    a, t2 = restore(v, ids)
    check_shape(a, {r: (a, "A", "A"), pa: (r, "A", "A"), pb: (r, pb, "A"),
                    pc: (pb, pb, "A"), pd: (r, pd, pd)})
    os.kill(r, signal.SIGTERM)
    converse(t2, b"ASK R", b"PING R", b"GOT PING R", "r, on the new terminal,")
    converse(t2, b"ASK A", b"PING A", b"GOT PING A", "a, on its /dev/tty (answering through r),")
    if not has_line("PASS"):
        fail("the restored tree did not pass")
    expect_exit(a, 42)
    print("vy-jobtree: PASS")
    os.close(t1)
    os.close(t2)

    # ---- 2. a bash pipeline, a job of an interactive shell ---------------------
    # the session leader on the terminal plays the shell: the job leads
    # its group (the terminal's foreground group), not the session
    os.unlink(out)
    script = 'echo READY > %s; while read l; do echo "got $l"; done | tr a-z A-Z; exit 7' % out
    sh, t1 = pty.fork()
    if sh == 0:
        os.closerange(3, 4096)
        j = os.fork()
        if j == 0:
            os.setpgid(0, 0)
            signal.signal(signal.SIGTTOU, signal.SIG_IGN)
            os.tcsetpgrp(0, os.getpid())
            signal.signal(signal.SIGTTOU, signal.SIG_DFL)
            os.execv("/bin/bash", ["bash", "-c", script])
        os.waitpid(j, 0)
        os._exit(0)
    pids.append(sh)
    if not has_line("READY"):
        fail("bash did not get ready")
    v = children(sh)[0]
    others.append(v)
    end = time.time() + 10
    while len(children(v)) < 2 and time.time() < end:
        time.sleep(0.05)
    kids = children(v)
    others.extend(kids)
    if len(kids) != 2:
        fail("bash has children %r, want the two of the pipeline" % kids)
    st = stat(v)
    if st[2] != v or st[3] != sh:
        fail("bash %d: pgid %d sid %d, want %d %d" % (v, st[2], st[3], v, sh))
    time.sleep(0.3)  # let them reach read and tr's read
    dump(v, [v] + kids, sh)
    a, t2 = restore(v, [v] + kids)
    check_shape(a, dict([(v, (a, "A", "A"))] + [(k, (v, "A", "A")) for k in kids]))
    os.write(t2, b"ping\n")
    ok, buf = read_until(t2, b"GOT PING")
    if not ok:
        fail("the pipeline did not answer on the new terminal: %r" % buf)
    os.write(t2, b"\x04")  # EOF: the loop ends, tr ends, bash exits 7
    expect_exit(a, 7)
    print("bash pipeline: PASS")
    print("PASS")
finally:
    for p in pids + others:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
PY
