#!/bin/bash
# cr-show: decode -> encode -> byte-identical stream (messages, raw
# payloads, unknown types, every flag combination), messages re-encoded
# from their fields alone, summary view, and one-line errors with exit
# code 5 on bad input, 2 on bad usage.
set -u
t=$(mktemp -d /tmp/cr-show-test.XXXXXX)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# every field type of TestMsg, unknown types, flags combinations
cat > "$t/in.json" <<'JSON'
{"stream":{"version":"1.0","producer":"cr-show test \u00e9"},
 "records":[
  {"type":61441,"flags":["CSUM"],"msg":{"seq":18446744073709551615,"text":"line\nwith \"quotes\" and \u00fc\u20ac\ud83d\ude00","values":[0,1,4294967295],"blob":"AAECAwQ="}},
  {"name":"TEST_MSG","msg":{"seq":0}},
  {"type":61443,"flags":["REQUIRED","CSUM"],"msg":{"seq":7,"text":""}},
  {"type":61442,"flags":["RAW","CSUM"],"payload":"aGVsbG8gd29ybGQ="},
  {"type":61442,"flags":["RAW"],"payload":""},
  {"type":4660,"flags":["RAW"],"payload":"/wD/AA=="},
  {"type":4661,"flags":["REQUIRED","CSUM"],"payload":"CAE="},
  {"type":61441,"flags":[],"payload":"CAI="}
 ],
 "trailer":{"records":8}}
JSON

cr-show --encode "$t/in.json" > "$t/a.img" || fail "encode"
cr-show --payload "$t/a.img" > "$t/a.json" || fail "decode a"
cr-show --encode < "$t/a.json" > "$t/b.img" || fail "encode a.json"
cmp "$t/a.img" "$t/b.img" || fail "decode+encode is not byte-identical"
cat "$t/b.img" | cr-show -p > "$t/b.json" || fail "decode b from a pipe"
cmp "$t/a.json" "$t/b.json" || fail "decoding the same stream twice differs"
grep -q '"producer":"cr-show test é"' "$t/a.json" || fail "producer"
grep -q '"seq":18446744073709551615' "$t/a.json" || fail "uint64 max"
grep -q '"text":"line\\nwith \\"quotes\\" and ü€😀"' "$t/a.json" || fail "string escapes: $(grep -o '"text":"line[^}]*' "$t/a.json")"
grep -q '"type":4660,"name":null,"flags":\["RAW"\],"len":4,"payload":"/wD/AA=="' "$t/a.json" || fail "unknown type"
grep -q '"verified":true' "$t/a.json" || fail "verified"
[ "$(grep -c '"index"' "$t/a.json")" = 8 ] || fail "record count"
echo "decode+encode byte-identical: ok"

# messages re-encoded from their fields (no --payload)
cat > "$t/msgs.json" <<'JSON'
{"records":[{"type":61441,"flags":["CSUM"],"msg":{"seq":3,"text":"x","values":[5,6],"blob":""}},
 {"type":61441,"flags":["CSUM"],"msg":{"seq":4}}]}
JSON
cr-show -e "$t/msgs.json" > "$t/m.img" || fail "encode msgs"
cr-show "$t/m.img" > "$t/m.json" || fail "decode msgs"
cr-show -e "$t/m.json" > "$t/m2.img" || fail "re-encode from fields"
cmp "$t/m.img" "$t/m2.img" || fail "messages from fields differ"
echo "messages from fields: ok"

# every kind of protobuf field, and an empty message, from fields alone
cat > "$t/all.json" <<'JSON'
{"records":[
{"name":"TEST_ALL","msg":{"i32":-2147483648,"i64":-9223372036854775808,"u32":4294967295,"u64":18446744073709551615,"s32":-5,"s64":-6,"f32":7,"f64":8,"sf32":-9,"sf64":-10,"fl":1.5,"db":0.1,"b":true,"s":"str","by":"AQI=","color":"BLUE","sub":{"seq":1,"text":"t"},"subs":[{"seq":2},{"seq":3,"values":[1]}],"strs":["a","","c"],"rs64":[-1,0,1],"colors":["RED","GREEN",7],"ch_str":"chosen","bools":[true,false],"dbls":["NaN","Infinity",-0.0,1e300],"byss":["","AA=="]}},
{"name":"TEST_ALL","msg":{}},
{"name":"TEST_ALL","msg":{"ch_num":0,"color":"RED","b":false,"s":""}}
]}
JSON
cr-show -e "$t/all.json" > "$t/all.img" || fail "encode all"
cr-show "$t/all.img" > "$t/all.out" || fail "decode all"
grep -q '"color":"BLUE","sub":{"seq":1,"text":"t"},"subs":\[{"seq":2},{"seq":3,"values":\[1\]}\]' "$t/all.out" || fail "nested: $(cat "$t/all.out")"
grep -q '"dbls":\["NaN","Infinity",-0,1.0000000000000001e+300\]' "$t/all.out" || fail "doubles: $(cat "$t/all.out")"
grep -q '"len":0,"csum":"0x00000000","verified":true,"msg":{}}' "$t/all.out" || fail "empty message"
cr-show -e "$t/all.out" | cmp - "$t/all.img" || fail "every field type: not identical"
echo "every field type: ok"

# raw records need --payload to be re-encoded
cr-show "$t/a.img" > "$t/nopayload.json"
cr-show -e "$t/nopayload.json" > /dev/null 2> "$t/err"
rc=$?
[ $rc = 5 ] || fail "encode without payloads: exit $rc"
grep -q 'decode with --payload' "$t/err" || fail "encode without payloads: $(cat "$t/err")"

# summary
cr-show --summary "$t/a.img" > "$t/sum" || fail "summary"
grep -q '^TEST_RAW  *2 ' "$t/sum" || fail "summary: $(cat "$t/sum")"
grep -q '^total  *8 ' "$t/sum" || fail "summary total: $(cat "$t/sum")"
cr-show --view summary --json "$t/a.img" | grep -q '"records":8,' || fail "summary json"
cr-show --view list | grep -q '^summary' || fail "view list"
echo "summary: ok"

# bad input: one line on stderr, exit 5
bad() { # name expected-substring, stream on stdin
	local name=$1 want=$2 rc
	cr-show > /dev/null 2> "$t/err"
	rc=$?
	[ $rc = 5 ] || fail "$name: exit $rc ($(cat "$t/err"))"
	[ "$(wc -l < "$t/err")" = 1 ] || fail "$name: not one line: $(cat "$t/err")"
	grep -q "^cr-show: .*$want" "$t/err" || fail "$name: $(cat "$t/err")"
	echo "$name: $(cat "$t/err")"
}
bad "empty" "empty input" < /dev/null
echo "hello world, this is not an image stream at all" | bad "wrong magic" "wrong magic"
bad "json" "cr-show --encode" < "$t/a.json"
size=$(stat -c %s "$t/a.img")
for n in 1 30 64 70 100 200 $((size - 1)); do
	head -c $n "$t/a.img" | bad "truncated at $n" "truncated"
done
# corrupt one payload byte of the TEST_RAW record ("hello world")
off=$(grep -aob 'hello world' "$t/a.img" | cut -d: -f1)
cp "$t/a.img" "$t/c.img"
printf 'J' | dd of="$t/c.img" bs=1 seek="$off" conv=notrunc status=none
bad "payload checksum" "record 3 (TEST_RAW) at byte [0-9]*: payload checksum mismatch" < "$t/c.img"
printf '{"records":[{"type":1,"payload":""}]}' | cr-show -e > /dev/null 2> "$t/err"
[ $? = 5 ] || fail "trailer type accepted: $(cat "$t/err")"
printf '{"records":[{"type":1,"flags":["RAW"],"len":0,"payload":""}]}' | cr-show -e > /dev/null 2> "$t/err"
[ $? = 5 ] || fail "trailer type accepted (streamed): $(cat "$t/err")"
printf '{"records":[{"type":61441,"msg":{"nope":1}}]}' | cr-show -e > /dev/null 2> "$t/err"
[ $? = 5 ] && grep -q 'no such field' "$t/err" || fail "bad field: $(cat "$t/err")"
printf '{"records":[' | cr-show -e > /dev/null 2> "$t/err"
[ $? = 5 ] && grep -q 'line 1' "$t/err" || fail "bad json: $(cat "$t/err")"

# the example of cr-image(5), byte for byte
want="89 43 52 49 4d 47 0d 0a 01 00 00 00 40 00 00 00 65 78 61 6d 70 6c 65 00 00 00 00 00 00 00 00 00
 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 e1 ef fb 82
 01 00 00 00 05 00 00 00 18 00 00 00 00 00 00 00 00 00 00 00 a3 9e c9 63 00 00 00 00 00 00 00 00
 40 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 94 32 0a 1a"
got=$(echo '{"stream":{"producer":"example"},"records":[]}' | cr-show --encode | od -An -tx1 -w32 -v)
[ "$(echo $got)" = "$(echo $want)" ] || fail "cr-image(5) example: $got"
echo "cr-image(5) example: ok"

# usage errors: exit 2
cr-show --bogus < /dev/null > /dev/null 2>&1; [ $? = 2 ] || fail "bad option"
cr-show --view nope < /dev/null > /dev/null 2>&1; [ $? = 2 ] || fail "bad view"
cr-show a b > /dev/null 2>&1; [ $? = 2 ] || fail "two inputs"
cr-show "$t/does-not-exist" > /dev/null 2>&1; [ $? = 6 ] || fail "missing file"
echo PASS
