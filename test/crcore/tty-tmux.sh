#!/bin/bash
# A terminal multiplexer (docs/ttys.md): a tmux server with one session
# whose pane runs an interactive bash (the server holds the pty master,
# bash leads a session whose controlling terminal is the slave) is dumped
# as a process tree, killed and restored.  The pane's history is there
# (tmux's own memory), a command typed into the pane after the restore
# runs in the restored bash, whose controlling terminal is the pane's pty
# again and whose group is its foreground group; the pids are the same.
# Skips without tmux or bash.
set -u
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
command -v tmux >/dev/null && [ -x /bin/bash ] || { echo "SKIP: tmux and bash are needed"; exit 77; }
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
pids=
cleanup() { for p in $pids; do kill -9 $p 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/err" ] && sed 's/^/  err: /' "$tmp/err"; exit 1; }
tm() { tmux -S "$tmp/sock" "$@"; }
# waits until the pane shows a line matching REGEX
pane_has() { for i in $(seq 50); do tm capture-pane -p 2>/dev/null | grep -Eq "$1" && return 0; sleep 0.1; done; return 1; }

tm -f /dev/null new-session -d -x 100 -y 30 "env PS1='pane\$ ' /bin/bash --norc --noprofile -i" </dev/null >/dev/null 2>&1 ||
	fail "tmux new-session failed"
s=$(tm display -p '#{pid}') && b=$(tm display -p '#{pane_pid}') && t=$(tm display -p '#{pane_tty}') ||
	fail "tmux display failed"
pids="$s $b"
pane_has '^pane\$' || fail "the pane shell did not start"
tm send-keys 'echo before-$((6*7))' Enter
pane_has '^before-42$' || fail "the pane did not run the first command"
cr-dump -o "$tmp/img" $s 2>"$tmp/err" || fail "cr-dump of the tmux server failed"
for i in $(seq 50); do kill -0 $s 2>/dev/null || break; sleep 0.1; done
cr-assemble -i "$tmp/img" --pidfile "$tmp/pid" 2>"$tmp/err" || fail "cr-assemble failed"
[ "$(cat "$tmp/pid")" = $s ] || fail "restored pid $(cat "$tmp/pid"), want $s"
pane_has '^before-42$' || fail "the pane's history is gone: $(tm capture-pane -p 2>&1)"
[ "$(tm display -p '#{pane_pid}')" = $b ] || fail "the pane's pid changed"
tm send-keys 'echo after-$((7*7)) $$ $(ps -o tty= -p $$)' Enter
pane_has "^after-49 $b ${t#/dev/}\$" ||
	fail "the restored pane did not run a new command on its terminal ($t): $(tm capture-pane -p 2>&1)"
# bash leads its session, on the pane's tty, in the foreground group
read -r sid tpg <<<"$(awk '{print $6, $8}' /proc/$b/stat)"
[ "$sid" = $b ] || fail "the pane shell's session is $sid, not its own"
[ "$tpg" = $b ] || fail "the pane's foreground group is $tpg, not the shell's"
tm kill-server 2>/dev/null
echo PASS
