# Sourced (imported) by the terminal tests (test/crcore/tty-shell*.sh):
# the victim's output file, reading a terminal up to an expected text,
# and the state of processes in /proc.
#   sys.path.insert(0, os.environ["CR_SRC"] + "/test/lib")
#   from ptytest import *
#   setup(tmp + "/out")
import os, select, sys, time

_out = None
pending = {}  # what came from a terminal after the last thing looked for


def setup(out):
    """out: the file the victim writes its READY/PASS/FAIL lines to"""
    global _out
    _out = out


def fail(msg):
    print("FAIL: " + msg)
    try:
        for l in open(_out):
            print("  out: " + l.rstrip())
    except OSError:
        pass
    sys.exit(1)


def lines():
    try:
        return open(_out).read().split("\n")
    except OSError:
        return []


def has_line(line, secs=5.0):
    end = time.time() + secs
    while time.time() < end:
        if line in lines():
            return True
        time.sleep(0.05)
    return False


def read_until(fd, what, secs=5.0):
    """reads fd until what comes; keeps what followed it for the next call"""
    buf, end = pending.pop(fd, b""), time.time() + secs
    while what not in buf and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                buf += os.read(fd, 1024)
            except OSError:
                break
    if what in buf:
        i = buf.index(what) + len(what)
        pending[fd] = buf[i:]
        return True, buf[:i]
    return False, buf


def converse(fd, ask, say, answer, who):
    """waits for ask on the terminal fd, types say, waits for answer"""
    ok, buf = read_until(fd, ask)
    if not ok:
        fail("%s did not ask on the terminal: %r" % (who, buf))
    os.write(fd, say + b"\n")
    ok, buf = read_until(fd, answer)
    if not ok:
        fail("%s did not answer on the terminal: %r" % (who, buf))


def stat(p):
    """(state, ppid, pgid, sid) of p, or None"""
    try:
        st = open("/proc/%d/stat" % p).read()
    except OSError:
        return None
    f = st[st.rfind(")") + 2:].split()
    return f[0], int(f[1]), int(f[2]), int(f[3])


def alive(p):
    s = stat(p)
    return s is not None and s[0] not in "ZX"


def children(p):
    try:
        return [int(x) for x in open("/proc/%d/task/%d/children" % (p, p)).read().split()]
    except OSError:
        return []


def gone(p, secs=10.0):
    end = time.time() + secs
    while time.time() < end:
        if not alive(p):
            return True
        time.sleep(0.05)
    return False
