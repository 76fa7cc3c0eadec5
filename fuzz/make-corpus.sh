#!/bin/bash
# Regenerates the committed seed corpus fuzz/corpus/reader/ with cr-show
# --encode: small valid streams (every known record type, raw payloads,
# unknown types) and broken ones (truncated, wrong magic, mangled).
#   CR_BUILD=build bash fuzz/make-corpus.sh
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
: "${CR_BUILD:=$here/build}"
show=$CR_BUILD/bin/cr-show
dir=$here/fuzz/corpus/reader
mkdir -p "$dir"
rm -f "$dir"/seed-*
enc() { "$show" --encode > "$dir/seed-$1"; }

# one empty message of every known message type, one small raw record of
# every raw type
{
	echo '{"stream":{"producer":"corpus"},"records":['
	sep=
	"$show" --types --json | while read -r line; do
		name=$(echo "$line" | sed 's/.*"name":"\([^"]*\)".*/\1/')
		[ "$name" = TRAILER ] && continue
		case $line in
		*'"raw":true'*) echo "$sep{\"name\":\"$name\",\"payload\":\"AAAAAAAAAAABAgME\"}" ;;
		*) echo "$sep{\"name\":\"$name\",\"msg\":{}}" ;;
		esac
		sep=,
	done
	echo ']}'
} | enc all-types

echo '{"records":[]}' | enc empty
cat <<'JSON' | enc test-mix
{"records":[
 {"type":61441,"flags":["CSUM"],"msg":{"seq":1,"text":"a","values":[1,2,3],"blob":"AAE="}},
 {"type":61442,"flags":["RAW","CSUM"],"payload":"aGVsbG8gd29ybGQ="},
 {"type":61442,"flags":["RAW"],"payload":""},
 {"type":4660,"flags":["RAW"],"payload":"/wD/AA=="},
 {"type":61443,"flags":["REQUIRED","CSUM"],"msg":{"seq":2}}]}
JSON
echo '{"records":[{"type":4661,"flags":["REQUIRED","RAW","CSUM"],"payload":"AQID"}]}' | enc required-unknown
echo '{"records":[{"type":61441,"flags":["CSUM"],"payload":"//////////8="}]}' | enc undecodable

# a raw record of 3 blocks and a bit (blockwise checksum paths)
{
	printf '{"records":[{"type":61442,"flags":["RAW","CSUM"],"payload":"'
	head -c 12300 /dev/zero | tr '\0' 'x' | base64 -w 0
	printf '"}]}'
} | enc big-raw

# broken streams
head -c 100 "$dir/seed-test-mix" > "$dir/seed-truncated-100"
head -c 64 "$dir/seed-test-mix" > "$dir/seed-header-only"
head -c 30 "$dir/seed-test-mix" > "$dir/seed-truncated-header"
printf 'not an image stream\n' > "$dir/seed-wrong-magic"
sed 's/\r$//' "$dir/seed-empty" > "$dir/seed-crlf-mangled" || true
printf '{"records":[]}\n' > "$dir/seed-json"
: > "$dir/seed-zero-length"
ls -l "$dir"
