/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * show-badjson: cr-show --encode on damaged JSON (cut at many places,
 * bytes changed at random) ends with exit 0 or 5 and one message line,
 * never a crash, another exit code or a silent partial stream.
 */
#include <fcntl.h>
#include <sys/wait.h>

#include "crimg-test.h"

static const char good[] =
	"{\"stream\":{\"version\":\"1.0\",\"producer\":\"bad json test\"},\n"
	"\"records\":[\n"
	"{\"type\":61444,\"name\":\"TEST_ALL\",\"flags\":[\"CSUM\"],\"msg\":{\"i32\":-5,\"u64\":18446744073709551615,"
	"\"fl\":1.5,\"db\":-2.5e-300,\"b\":true,\"s\":\"s\\u00e9\\n\",\"by\":\"AQID\",\"color\":\"BLUE\","
	"\"sub\":{\"seq\":1,\"values\":[1,2]},\"subs\":[{\"seq\":2}],\"strs\":[\"a\",\"\"],\"rs64\":[-1,1],"
	"\"colors\":[\"RED\",9],\"ch_num\":3,\"dbls\":[\"NaN\",-0]}},\n"
	"{\"type\":61442,\"flags\":[\"RAW\",\"CSUM\"],\"len\":11,\"payload\":\"aGVsbG8gd29ybGQ=\"},\n"
	"{\"type\":4660,\"flags\":[\"REQUIRED\"],\"payload\":\"/wD/AA==\"},\n"
	"{\"type\":61441,\"msg\":{\"seq\":7,\"text\":\"x\"}}\n"
	"],\n\"trailer\":{\"records\":4}}\n";

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Runs cr-show --encode on buf; returns the exit status (or 1000+signal)
 * and checks stderr has at most one line. */
static int encode(const char *prog, const char *buf, size_t len)
{
	char in[256], err[256], *e;
	size_t elen;
	int st, lines = 0;
	pid_t pid;

	snprintf(in, sizeof(in), "%s/in.json", t_tmpdir());
	snprintf(err, sizeof(err), "%s/err", t_tmpdir());
	t_spill(in, buf, len);
	pid = fork();
	t_assert(pid >= 0);
	if (!pid) {
		int n = open("/dev/null", O_WRONLY | O_CLOEXEC);
		int efd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		dup2(n, 1);
		dup2(efd, 2);
		execl(prog, "cr-show", "--encode", in, (char *)NULL);
		_exit(127);
	}
	t_assert(waitpid(pid, &st, 0) == pid);
	e = (char *)t_slurp(err, &elen);
	for (size_t i = 0; i < elen; i++)
		lines += e[i] == '\n';
	if (lines > 1)
		t_fail("more than one line on stderr for %.*s:\n%.*s", (int)len, buf, (int)elen, e);
	free(e);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

int main(void)
{
	char *prog = t_build_path("bin/cr-show");
	size_t len = strlen(good);
	char *buf = malloc(len + 1);
	int rc, cuts = 0, flips = 0, ok = 0;

	t_assert(encode(prog, good, len) == 0);
	/* cut: every 5th length, and all of the last 12 */
	for (size_t n = 0; n < len; n++) {
		if (n % 5 && n + 12 < len)
			continue;
		rc = encode(prog, good, n);
		cuts++;
		if (rc == 0 && n < len - 1)
			t_fail("cut at %zu of %zu: accepted", n, len);
		if (rc != 0 && rc != 5)
			t_fail("cut at %zu: exit %d", n, rc);
	}
	/* random byte changes */
	for (int i = 0; i < 250; i++) {
		int k = 1 + rnd() % 3;

		memcpy(buf, good, len);
		for (int j = 0; j < k; j++) {
			static const char pool[] = "{}[]\":,\\0123456789-+.eEatrufnlsx \n\x01\x80\xff";

			buf[rnd() % len] = rnd() % 2 ? pool[rnd() % (sizeof(pool) - 1)] : (char)rnd();
		}
		rc = encode(prog, buf, len);
		flips++;
		ok += rc == 0;
		if (rc != 0 && rc != 5)
			t_fail("changed bytes: exit %d for:\n%.*s", rc, (int)len, buf);
	}
	t_log("%d cuts, %d changed inputs (%d still valid): no crash", cuts, flips, ok);
	free(buf);
	free(prog);
	return T_PASS;
}
