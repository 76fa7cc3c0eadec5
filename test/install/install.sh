#!/bin/bash
# `make install DESTDIR=...` installs libraries, headers, pkg-config files,
# tools and man pages; the installed tools run with the installed
# libraries (not the build tree's), and a program builds against the
# installed headers and libraries through pkg-config.
set -eu
: "${CR_BUILD:?}" "${CR_SRC:?}"
dest=$(mktemp -d /tmp/cr-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
san= sanflags=
# a sanitized build's libraries need the sanitizer runtime in the program
[ "${SANITIZE:-}" = 1 ] && san=SANITIZE=1 sanflags="-fsanitize=address,undefined"
MAKEFLAGS= make -s -C "$CR_SRC" BUILD="$CR_BUILD" $san install DESTDIR="$dest" PREFIX=/usr >/dev/null
root=$dest/usr
for t in cr-show cr-dump cr-assemble cr-freeze cr-dumpmm cr-parasite cr-tcp; do
	[ -x "$root/bin/$t" ] || { echo "FAIL: $t not installed"; exit 1; }
	ldd "$root/bin/$t" | grep -q "$CR_BUILD" && { echo "FAIL: $t links the build tree"; exit 1; }
	"$root/bin/$t" --help >/dev/null || { echo "FAIL: installed $t --help"; exit 1; }
done
# the installed cr-show must resolve libcrimg from the installed tree
ldd "$root/bin/cr-show" | grep -q "$root/bin/../lib/libcrimg.so.0" || { echo "FAIL: cr-show does not use the installed libcrimg"; ldd "$root/bin/cr-show"; exit 1; }
for m in man1/cr-show.1 man3/crimg.3 man5/cr-image.5 man7/cr.7; do
	[ -f "$root/share/man/$m" ] || { echo "FAIL: man page $m not installed"; exit 1; }
done
for l in crimg compel soccr crcore; do
	[ -f "$root/lib/lib$l.a" ] && [ -e "$root/lib/lib$l.so" ] && [ -f "$root/lib/lib$l.so.0" ] || { echo "FAIL: lib$l not installed"; exit 1; }
	[ -f "$root/lib/pkgconfig/lib$l.pc" ] || { echo "FAIL: lib$l.pc"; exit 1; }
done
# a program of someone else's, built against the installed tree
cat > "$dest/user.c" <<'C'
#include <crimg.h>
#include <stdio.h>
#include <unistd.h>
int main(void)
{
	struct crimg_writer *w;
	const struct crimg_type_info *t = crimg_type_by_name("PROC");
	if (!t || crimg_writer__new(STDOUT_FILENO, NULL, &w) < 0)
		return 1;
	if (crimg_writer__add_bytes(w, CRIMG_T_TEST_RAW, 0, "hello", 5) < 0 || crimg_writer__finish(w) < 0)
		return 1;
	crimg_writer__free(w);
	return 0;
}
C
export PKG_CONFIG_PATH=$root/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs libcrimg)
cc $sanflags -o "$dest/user" "$dest/user.c" $flags -Wl,-rpath,"$root/lib"
"$dest/user" | "$root/bin/cr-show" --summary | grep -q 'trailer verified' || { echo "FAIL: user program's stream"; exit 1; }
echo PASS
