#!/bin/bash
# compel-blob as another project would use it: build a parasite from C
# with the printed flags and the public header, run it with cr-parasite;
# a parasite with an undefined symbol is refused with a clear message.
set -u
fail() { echo "FAIL: $*"; exit 1; }
command -v cc >/dev/null || { echo "skip: no C compiler"; exit 77; }
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT

cat > "$tmp/hello.c" <<'C'
#include <sys/syscall.h>
#include <compel-parasite.h>

static const char *const parts[] = { "hello, ", "bye, " }; /* relocations */

static unsigned long len(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	return n;
}

/* Writes "hello, ARG\n" to the caller's stdout, returns our pid. */
COMPEL_PARASITE_ENTRY long run(struct compel_pctx *ctx)
{
	const char *who = ctx->args_len ? (const char *)ctx->args : "nobody";

	const char *p = parts[ctx->args_len == 0];

	compel_sys3(__NR_write, ctx->in_fds[0], p, len(p));
	compel_sys3(__NR_write, ctx->in_fds[0], who, len(who));
	compel_sys3(__NR_write, ctx->in_fds[0], "\n", 1);
	return compel_sys0(__NR_getpid);
}
C
cc $(compel-blob --cflags) -I"$CR_SRC/include" -c -o "$tmp/hello.o" "$tmp/hello.c" || fail "compile"
compel-blob -o "$tmp/hello.blob" "$tmp/hello.o" || fail "compel-blob"
compel-blob -n hello_blob -o "$tmp/hello-blob.c" "$tmp/hello.o" || fail "compel-blob -n"
grep -q "const unsigned char hello_blob\[\]" "$tmp/hello-blob.c" || fail "no C array"
nrel=$(od -An -tu4 -j12 -N4 "$tmp/hello.blob" | tr -d ' ')
[ "$nrel" -ge 2 ] || fail "the blob has $nrel relocations, want the table's 2"
cc -c -o "$tmp/hello-blob.o" "$tmp/hello-blob.c" || fail "the C output does not compile"

(exec sleep 3) &
pid=$!
sleep 0.2
out=$(cr-parasite -p $pid run "$tmp/hello.blob" run world) || fail "cr-parasite run"
[ "$out" = "hello, world
$pid" ] || fail "run printed '$out'"

cat > "$tmp/bad.c" <<'C'
#include <compel-parasite.h>
extern long missing(void);
COMPEL_PARASITE_ENTRY long run(struct compel_pctx *ctx) { return missing(); }
C
cc $(compel-blob --cflags) -I"$CR_SRC/include" -c -o "$tmp/bad.o" "$tmp/bad.c" || fail "compile bad"
compel-blob -o "$tmp/bad.blob" "$tmp/bad.o" 2>"$tmp/err" && fail "an undefined symbol was accepted"
grep -qi "missing\|undefined" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
cr-parasite -p $pid run "$tmp/hello.o" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "not a parasite blob" "$tmp/err" || fail "an object as a blob: rc $rc $(cat "$tmp/err")"
echo PASS
