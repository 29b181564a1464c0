#!/usr/bin/env bash
# Hostile and broken input: one line naming the file and the problem, a
# non-zero exit, never a crash, and what was accepted before is kept.
. "$(dirname "$0")/lib.bash"

printf 'this is not a capture\n' >"$TMP/text.pcap"
run_cs replay --pcap "$TMP/text.pcap" --events "$TMP/e.jsonl"
check "non-pcap: exit 1" test "$RC" -eq 1
check "non-pcap: message names the file" grep -q "$TMP/text.pcap" "$ERR"
check "non-pcap: no crash" no_crash

# a capture cut in the middle of a packet: flows before the cut are kept
run_cs demo-data "$TMP/demo" --start 2026-03-12T08:00:00Z
size=$(stat -c %s "$TMP/demo/demo.pcap")
head -c $((size / 2 + 7)) "$TMP/demo/demo.pcap" >"$TMP/cut.pcap"
run_cs replay --pcap "$TMP/cut.pcap" --events "$TMP/cut.jsonl"
check "truncated pcap: exit 1" test "$RC" -eq 1
check "truncated pcap: message names the file" grep -q "cut.pcap" "$ERR"
check "truncated pcap: flows before the cut were written" test "$(wc -l <"$TMP/cut.jsonl")" -gt 20
check "truncated pcap: no crash" no_crash

run_cs replay --log "$TMP/does-not-exist.log"
check "missing log: exit 1" test "$RC" -eq 1
check "missing log: message names the file" grep -q "does-not-exist.log: cannot open log" "$ERR"
if [ "$(id -u)" -ne 0 ]; then
    printf 'x\n' >"$TMP/secret.log"
    chmod 000 "$TMP/secret.log"
    run_cs replay --log "$TMP/secret.log"
    check "unreadable log: exit 1" test "$RC" -eq 1
fi
run_cs replay --log "$TMP"
check "a directory as a log: exit 1 with a message" bash -c "[ $RC -eq 1 ] && grep -q 'is a directory' '$ERR'"

# a 10 MB syslog line with no newline, then a normal line: both become events
{ printf 'Mar 12 08:00:00 host prog: '; head -c 10485760 /dev/zero | tr '\0' 'A'; printf '\nMar 12 08:00:01 host sshd[1]: ok\n'; } >"$TMP/huge.log"
run_cs replay --log "$TMP/huge.log" --events "$TMP/huge.jsonl"
check "10 MB line: exit 0" test "$RC" -eq 0
check "10 MB line: both lines became events" test "$(wc -l <"$TMP/huge.jsonl")" -eq 2
check "10 MB line: the long one is tagged truncated" grep -q 'citysoc.truncated' "$TMP/huge.jsonl"
check "10 MB line: the next line is intact" grep -q '"message":"ok"' "$TMP/huge.jsonl"
# binary garbage as a log: every line kept as a message-only event
head -c 65536 /dev/urandom >"$TMP/garbage.log"
run_cs replay --log "$TMP/garbage.log" --events "$TMP/garbage.jsonl"
check "binary log: exit 0, no crash" bash -c "[ $RC -eq 0 ]"
check "binary log: output is valid UTF-8" iconv -f UTF-8 -t UTF-8 "$TMP/garbage.jsonl" -o /dev/null

printf 'store: {path: x.db}\nstroe: 1\n' >"$TMP/bad.yaml"
run_cs replay -c "$TMP/bad.yaml" --log "$TMP/demo/auth.log"
check "unknown config key: exit 1" test "$RC" -eq 1
check "unknown config key: file:line and key" grep -q "bad.yaml:2: unknown key 'stroe'" "$ERR"
printf 'a: &x [1]\nb: *x\n' >"$TMP/bomb.yaml"
run_cs run -c "$TMP/bomb.yaml"
check "YAML alias in config: exit 1" test "$RC" -eq 1
check "YAML alias in config: refused" grep -q 'bomb.yaml:1: YAML anchors are not accepted' "$ERR"
printf 'http: [\n' >"$TMP/syntax.yaml"
run_cs run -c "$TMP/syntax.yaml"
check "malformed config: exit 1 with the file" bash -c "[ $RC -eq 1 ] && grep -q 'syntax.yaml:' '$ERR'"

mkdir -p "$TMP/rules"
printf 'title: bad\nlogsource: {product: linux}\ndetection:\n  sel:\n    a|nosuchmod: x\n  condition: sel\n' >"$TMP/rules/bad.yml"
cp "$CS_SOURCE_DIR/rules/sigma/linux/sshd_auth_failure.yml" "$TMP/rules/good.yml"
run_cs rules check "$TMP/rules"
check "rules check: a bad rule is refused (exit 1)" test "$RC" -eq 1
check "rules check: file:line and reason" grep -q 'bad.yml:5' "$ERR"
check "rules check: the good rule still loads" grep -q '1 rules loaded, 0 correlation rules loaded, 1 refused' "$OUT"
run_cs replay --rules "$TMP/rules" --log "$TMP/demo/auth.log" --alerts "$TMP/a.jsonl"   # no correlation here: single alerts
check "replay with one bad rule still runs the good one" bash -c "[ $RC -eq 0 ] && [ -s '$TMP/a.jsonl' ]"
run_cs rules check -c "$CS_SOURCE_DIR/etc/citysoc.yaml" "$CS_SOURCE_DIR/rules/sigma"
check "bundled rules all load" test "$RC" -eq 0
finish
