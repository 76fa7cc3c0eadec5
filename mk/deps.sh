#!/bin/sh
# Installs the Debian packages a target needs, or lists the missing ones.
#   sh mk/deps.sh [build|test|fuzz|all]
# As root on Debian, missing packages are installed with apt-get;
# otherwise the exact list is printed and the script fails.
set -e
set_name=${1:-all}

BUILD_PKGS="gcc make pkg-config protobuf-c-compiler libprotobuf-c-dev libnl-3-dev libnl-route-3-dev libcap-dev libbsd-dev libnftables-dev"
# The suite drives real programs and builds network namespaces.
TEST_PKGS="iproute2 nftables procps util-linux zstd python3 perl memcached sqlite3 tmux"
FUZZ_PKGS="clang libclang-rt-14-dev"

case $set_name in
build) want=$BUILD_PKGS ;;
test) want="$BUILD_PKGS $TEST_PKGS" ;;
fuzz) want="$BUILD_PKGS $FUZZ_PKGS" ;;
all) want="$BUILD_PKGS $TEST_PKGS $FUZZ_PKGS" ;;
*) echo "deps: unknown set '$set_name' (build, test, fuzz, all)" >&2; exit 100 ;;
esac

missing=
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && [ -r /etc/debian_version ] && command -v apt-get >/dev/null; then
	echo "deps: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || echo "deps: apt-get update failed, trying the install anyway" >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	exit 0
fi
echo "deps: missing Debian packages:$missing" >&2
echo "deps: as root run: apt-get install$missing" >&2
exit 1
