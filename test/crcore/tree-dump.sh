#!/bin/bash
# A process tree dumped whole (vt-tree: sessions and groups, one of each
# whose leader is gone, a child subreaper, a zombie, a stopped child,
# shared anonymous memory, a memfd and a file shared across fork):
# - every process has its PROC with pid, parent, group and session,
#   parents first; the zombie its exit status; the stopped child state T;
#   the shared pages are stored once; the shared file has one id;
# - --leave-running: the tree runs on and passes its own checks;
# - --leave-stopped: every process is frozen in cr-freeze/ROOT until
#   --thaw (each back in its own cgroup), then passes its checks; or until
#   --kill, which kills them all;
# - the default (kill): every process of the tree is killed.
set -u
cgroot=/sys/fs/cgroup/unified
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
cleanup() {
	local r
	r=$(awk '$1=="root"{print $2}' "$tmp/pids" 2>/dev/null)
	[ -n "$r" ] && [ -d $cgroot/cr-freeze/$r ] && cr-freeze --kill "$r" 2>/dev/null
	[ -f "$tmp/pids" ] && kill -9 $(awk '{print $2}' "$tmp/pids") 2>/dev/null
	[ -n "${sub:-}" ] && [ -d "$sub" ] && { sleep 0.1; rmdir "$sub" 2>/dev/null; }
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/    victim: /' "$tmp/out"; exit 1; }
pid_of() { awk -v n="$1" '$1==n{print $2}' "$tmp/pids"; }
live="root a a1 b1 c1 t"

start() {
	rm -f "$tmp/pids"
	"$CR_BUILD/test/crcore/helpers/vt-tree" "$tmp/pids" "$tmp/data" >"$tmp/out" 2>&1 </dev/null &
	for i in $(seq 300); do [ -f "$tmp/pids" ] && break; sleep 0.01; done
	[ -f "$tmp/pids" ] || fail "the tree did not start"
}
# SIGTERM to every live process (t continued first), then 9 PASS lines
finish() {
	for n in $live; do kill -CONT $(pid_of $n); kill -TERM $(pid_of $n); done
	for i in $(seq 300); do [ "$(grep -c ^PASS "$tmp/out")" -ge 9 ] && break; sleep 0.01; done
	grep -q ^FAIL "$tmp/out" && fail "$1: a process failed its checks"
	[ "$(grep -c ^PASS "$tmp/out")" = 9 ] || fail "$1: $(grep -c ^PASS "$tmp/out") PASS lines, not 9"
	for n in $live; do grep -qx "PASS $n" "$tmp/out" || fail "$1: no PASS from $n"; done
}
printf 'abcdefghij' >"$tmp/data"

# --leave-running, and the image
start
cr-dump --leave-running -o "$tmp/img" $(pid_of root) 2>"$tmp/err" || fail "dump: $(cat "$tmp/err")"
cr-show -p "$tmp/img" >"$tmp/img.json" 2>"$tmp/err" || fail "cr-show: $(cat "$tmp/err")"
/usr/bin/python3 - "$tmp/pids" "$tmp/img.json" <<'PY' || fail "the image does not describe the tree"
import base64, json, struct, sys

pids = {}
for line in open(sys.argv[1]):
    n, p, pp, pg, s = line.split()
    pids[n] = dict(pid=int(p), ppid=int(pp), pgid=int(pg), sid=int(s))
img = json.load(open(sys.argv[2]))
bad = []
procs, files, shm_pages, mms, sysv = {}, {}, {}, [], []
file_data = 0
order = []
cur, left = -1, 0
for r in img['records']:
    m = r.get('msg')
    if r['name'] == 'PROC':
        procs[m['pid']] = m
        order.append(m['pid'])
    elif r['name'] == 'FILES':
        files[m['pid']] = {f['fd']: f.get('id') for f in m['fds']}
    elif r['name'] == 'FILE_DATA':
        file_data += 1
    elif r['name'] == 'SYSV_SHM':
        sysv.append(m)
    elif r['name'] == 'MM':
        if cur >= 0:
            bad.append('an MM record after PAGES records')
        mms.append(m)
        shm_pages[m['pid']] = 0
    elif r['name'] == 'PAGES':
        # every MM first, then each process's pages in the same order
        while left == 0:
            cur += 1
            left = mms[cur].get('pages_dumped', 0)
        mm = mms[cur]
        raw = base64.b64decode(r['payload'])
        a = struct.unpack('<Q', raw[:8])[0]
        n = (len(raw) - 8) // 4096
        left -= n
        if not any(v['start'] <= a < v['end'] for v in mm['vmas']):
            bad.append('PAGES at %#x outside the mappings of %d' % (a, mm['pid']))
        for v in mm['vmas']:
            if v['start'] <= a < v['end'] and v['kind'] == 3:
                shm_pages[mm['pid']] += n
if [m['pid'] for m in mms] != [p for p in order if procs[p].get('state') != ord('Z')]:
    bad.append('MM records not in PROC order')
if len(procs) != len(pids):
    bad.append('%d PROC records, not %d' % (len(procs), len(pids)))
if order[0] != pids['root']['pid']:
    bad.append('the first PROC is not the root')
for n, w in pids.items():
    m = procs.get(w['pid'])
    if not m:
        bad.append('no PROC for %s (%d)' % (n, w['pid']))
        continue
    for k in ('ppid', 'pgid', 'sid'):
        if m[k] != w[k]:
            bad.append('%s: %s %d, not %d' % (n, k, m[k], w[k]))
    # parents come before their children
    if n != 'root' and order.index(m['ppid']) > order.index(w['pid']):
        bad.append('%s comes before its parent' % n)
    if n == 'z':
        if m.get('state') != ord('Z') or m.get('exit_status') != 7 << 8:
            bad.append('z: state %s status %s' % (m.get('state'), m.get('exit_status')))
        if w['pid'] in files or w['pid'] in shm_pages:
            bad.append('z has records other than PROC')
    if n == 'a1' and len(m.get('tids', [])) != 2:
        bad.append('a1: %d threads, not 2' % len(m.get('tids', [])))
    if n == 'z':
        pass
    elif n == 't':
        if m.get('state') != ord('T'):
            bad.append('t: state %s, not T' % m.get('state'))
    elif m.get('state') not in (ord('S'), ord('R')):
        bad.append('%s: state %s' % (n, m.get('state')))
root = pids['root']['pid']
for n, w in pids.items():
    if n == 'z':
        continue
    f = files.get(w['pid'])
    if f is None:
        bad.append('no FILES for %s' % n)
        continue
    # fd 3 is DATAFILE, fd 6 a deleted file, opened once by the root before
    # the forks; a dup'ed 6 to 9
    for fd in (3, 6) + ((9,) if n == 'a' else ()):
        want = files[root][3 if fd == 3 else 6]
        if f.get(fd) != want:
            bad.append('%s: fd %d has id %s, not %s (not one open file)' % (n, fd, f.get(fd), want))
if file_data != 1:
    bad.append('%d FILE_DATA records for one deleted file' % file_data)
# shared anonymous + memfd: 3 written pages each, SysV 1, stored once, by the root
if shm_pages.get(root) != 7 or sum(shm_pages.values()) != 7:
    bad.append('shared pages: %s (7 expected, in the root only)' % shm_pages)
# the SysV segment: one record, removed (SHM_DEST), 3 pages, mapped by all
if len(sysv) != 1 or sysv[0]['size'] != 3 * 4096 or not sysv[0]['mode'] & 0o1000:
    bad.append('SYSV_SHM records: %s' % sysv)
else:
    for m in mms:
        if not any(v.get('shmid') == sysv[0]['id'] and v['kind'] == 3 for v in m['vmas']):
            bad.append('%d does not map the SysV segment' % m['pid'])
for b in bad:
    print('FAIL image:', b)
sys.exit(1 if bad else 0)
PY
for n in $live; do grep -q "^TracerPid:[[:space:]]*0" /proc/$(pid_of $n)/status || fail "$n is still traced"; done
grep -q "^State:[[:space:]]*T" /proc/$(pid_of t)/status || fail "t is no longer stopped"
grep -q "^State:[[:space:]]*Z" /proc/$(pid_of z)/status || fail "z is no longer a zombie"
finish leave-running
echo "PASS leave-running"

# --leave-stopped: the whole tree in our frozen cgroup until --thaw
if [ -e $cgroot/cgroup.procs ]; then
	start
	r=$(pid_of root)
	# a1 lives in a cgroup of its own: --thaw must put it back there
	origin=$(sed -n 's/^0:://p' /proc/$r/cgroup)
	sub=$cgroot${origin%/}/tree-dump-$$
	mkdir "$sub" && echo $(pid_of a1) >"$sub/cgroup.procs" || fail "cannot move a1 into $sub"
	cr-dump --leave-stopped -o "$tmp/img" $r 2>"$tmp/err" || fail "dump --leave-stopped: $(cat "$tmp/err")"
	for n in $live; do
		[ "$(sed -n 's/^0:://p' /proc/$(pid_of $n)/cgroup)" = "/cr-freeze/$r" ] || fail "$n is not in cr-freeze/$r"
	done
	grep -q "frozen 1" $cgroot/cr-freeze/$r/cgroup.events || fail "cgroup not frozen"
	kill -TERM $(pid_of a1); sleep 0.1
	grep -q "PASS a1" "$tmp/out" && fail "a1 ran while left stopped"
	cr-freeze --thaw $r 2>"$tmp/err" || fail "thaw: $(cat "$tmp/err")"
	[ -d $cgroot/cr-freeze/$r ] && fail "our cgroup is still there after --thaw"
	for n in $live; do
		want=$origin; [ $n = a1 ] && want=${origin%/}/tree-dump-$$
		[ "$(sed -n 's/^0:://p' /proc/$(pid_of $n)/cgroup)" = "$want" ] || fail "$n is in $(sed -n 's/^0:://p' /proc/$(pid_of $n)/cgroup), not back in $want"
	done
	finish leave-stopped
	for i in $(seq 200); do rmdir "$sub" 2>/dev/null && break; sleep 0.01; done
	echo "PASS leave-stopped"
	# and --kill ends a tree left stopped: every process
	start
	r=$(pid_of root)
	cr-dump --leave-stopped -o "$tmp/img" $r 2>"$tmp/err" || fail "dump --leave-stopped: $(cat "$tmp/err")"
	cr-freeze --kill $r 2>"$tmp/err" || fail "--kill: $(cat "$tmp/err")"
	[ -d $cgroot/cr-freeze/$r ] && fail "our cgroup is still there after --kill"
	for n in $live; do
		s=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' /proc/$(pid_of $n)/status 2>/dev/null)
		case "$s" in ""|Z|X) ;; *) fail "--kill: $n was not killed (state $s)";; esac
	done
	echo "PASS leave-stopped --kill"
fi

# kill (the default): no process of the tree runs afterwards
start
cr-dump -o "$tmp/img" $(pid_of root) 2>"$tmp/err" || fail "dump: $(cat "$tmp/err")"
for n in $live; do
	s=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' /proc/$(pid_of $n)/status 2>/dev/null)
	case "$s" in ""|Z|X) ;; *) fail "$n was not killed (state $s)";; esac
done
echo "PASS kill"
