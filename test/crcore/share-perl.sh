#!/bin/bash
# A real program: perl holding state (a hash of 1000 keys, a counter, a
# file handle read up to a line in the middle) and an event loop across
# two processes (it forked a child; they play tick/tock over a socket
# pair, each side waiting in IO::Select) is dumped, killed and restored
# by cr-assemble.  The counter goes on from where it was; after SIGTERM
# perl checks its hash, reads the next line of its file (the one after
# where it stopped), asks the child how many ticks it answered (every
# one), and prints PASS.  Skips if perl is missing.  The restored tree is
# killed by pid at the end.
set -u
PERL=/usr/bin/perl
[ -x $PERL ] || { echo "SKIP: no $PERL"; exit 77; }
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
tmp=$(mktemp -d /tmp/cr-test.XXXXXX)
root=
descendants() { # pids below $1, depth first
	local c
	for c in $(cat /proc/$1/task/*/children 2>/dev/null); do descendants $c; echo $c; done
}
cleanup() {
	if [ -n "$root" ]; then
		for p in $(descendants $root) $root; do kill -9 $p 2>/dev/null; done
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/    perl: /' "$tmp/out"; exit 1; }
count() { local s; s=$(cat "$tmp/count" 2>/dev/null); echo ${s:-0}; }

cat >"$tmp/v.pl" <<'PL'
use strict; use warnings; use Socket; use IO::Handle; use IO::Select;
my ($dir) = @ARGV;
$| = 1;
my %h = map { ("key$_" => $_ * $_) } 1 .. 1000;
open(my $fh, '<', "$dir/lines") or die "lines: $!";
my @skip = map { scalar <$fh> } 1 .. 3;   # three lines read: the next is line 4
socketpair(my $p, my $c, AF_UNIX, SOCK_STREAM, 0) or die "socketpair: $!";
$p->autoflush(1); $c->autoflush(1);
my $kid = fork() // die "fork: $!";
if (!$kid) {            # the child: answers every tick, counts them
	close $p;
	my ($answered, $sel) = (0, IO::Select->new($c));
	while (1) {
		next unless $sel->can_read(1);
		my $l = <$c>; exit 0 unless defined $l;
		if ($l =~ /^tick (\d+)/) { $answered++; print $c "tock $1\n"; }
		elsif ($l =~ /^how many/) { print $c "answered $answered\n"; }
	}
}
close $c;
my ($n, $term, $sel) = (0, 0, IO::Select->new($p));
$SIG{TERM} = sub { $term = 1 };
while (!$term) {
	$n++;
	print $p "tick $n\n";
	$sel->can_read(5) or die "no tock for tick $n";
	my $l = <$p>;
	die "tick $n: got " . ($l // "EOF") unless defined $l && $l eq "tock $n\n";
	open(my $o, '>', "$dir/count.tmp") or die; print $o "$n\n"; close $o;
	rename("$dir/count.tmp", "$dir/count");
	select(undef, undef, undef, 0.005);
}
my @bad;
my $sum = 0; $sum += $h{"key$_"} for 1 .. 1000;
push @bad, "hash: " . scalar(keys %h) . " keys, sum $sum" unless keys %h == 1000 && $sum == 333833500;
my $next = <$fh>;
push @bad, "file: next line " . ($next // "EOF") unless defined $next && $next eq "line 4\n";
print $p "how many\n";
$sel->can_read(5) or push @bad, "the child does not answer";
my $a = <$p> // "EOF";
push @bad, "child: $a (ticks $n)" unless $a eq "answered $n\n";
print @bad ? "FAIL " . join(", ", @bad) . "\n" : "PASS $n ticks\n";
PL
seq -f 'line %g' 1 10 >"$tmp/lines"
"$CR_BUILD/test/crcore/helpers/vt-reaper" $PERL "$tmp/v.pl" "$tmp" </dev/null >"$tmp/out" 2>&1 &
reaper=$!
for i in $(seq 500); do [ "$(count)" -ge 20 ] && break; sleep 0.01; done
[ "$(count)" -ge 20 ] || fail "perl did not start"
root=$(cat /proc/$reaper/task/$reaper/children | tr -d ' ')
kid=$(cat /proc/$root/task/$root/children | tr -d ' ')
[ -n "$kid" ] || fail "perl has no child"
cr-dump -o "$tmp/img" $root 2>"$tmp/err" || fail "dump: $(cat "$tmp/err")"
a=$(count)
sleep 0.1
[ "$(count)" = "$a" ] || fail "perl ran on after the dump killed it"
cr-assemble -i "$tmp/img" 2>"$tmp/err" || fail "cr-assemble: $(cat "$tmp/err")"
for i in $(seq 500); do [ "$(count)" -ge $((a + 20)) ] && break; sleep 0.01; done
[ "$(count)" -ge $((a + 20)) ] || fail "the counter did not go on: $a -> $(count)"
[ -d /proc/$kid ] || fail "the child was not restored"
kill -TERM $root
for i in $(seq 500); do grep -q "^PASS\|^FAIL\|died\| at .* line" "$tmp/out" && break; sleep 0.01; done
grep -q "^PASS" "$tmp/out" || fail "perl did not pass"
echo "PASS: counter $a -> $(count); perl says: $(cat "$tmp/out")"
