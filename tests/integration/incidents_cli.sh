#!/usr/bin/env bash
# The analysts' command line over a real store: alert triage (ack, assign,
# close, reopen) with its audit rows, suppressions, and incident tickets from
# open to closed (forbidden transitions, a 1 MB comment, Vietnamese text,
# observables, merge, board, SLA), every change under the --as actor.
. "$(dirname "$0")/lib.bash"

command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing (tools/citysoc-setup installs it)"; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing (the checks parse JSON with it)"; exit 77; }

run_cs demo-data "$TMP/demo" --start 2026-03-12T08:00:00Z
DB=$TMP/citysoc.db
run_cs replay -c "$CS_SOURCE_DIR/etc/citysoc.yaml" --pcap "$TMP/demo/demo.pcap" \
    --log "$TMP/demo/auth.log" --log "$TMP/demo/syslog" \
    --log-format nginx --host portal-web01 --log "$TMP/demo/nginx-access.log" --db "$DB"
check "replay builds the store" test "$RC" -eq 0
[ "$RC" -eq 0 ] || { cat "$ERR"; finish; exit 1; }

q() { sqlite3 -batch -noheader "$DB" "$1"; }
cs() { run_cs "$@" --db "$DB" --as "analyst.lan"; }
ok_run() { # description: last run exited 0 without a crash
    if [ "$RC" -eq 0 ] && no_crash; then ok "$1"; else not_ok "$1 (exit $RC: $(head -c 600 "$ERR"))"; fi
}
json_get() { # file, python expression on d (the first line's object)
    python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).readline()); print(eval(sys.argv[2]))' "$1" "$2"
}

SCAN=$(q "SELECT id FROM alerts WHERE rule_id='cs-plugin-portscan'")
SQLI=$(q "SELECT id FROM alerts WHERE rule_id='7a1e3b90-5c2d-4e61-8f47-2b9c0d6a4e02' ORDER BY id LIMIT 1")
TRAV=$(q "SELECT id FROM alerts WHERE rule_id='2d9b7c44-8e13-4f0a-a6c5-9e1f3b2d7a03' ORDER BY id LIMIT 1")
check "the demo store has the alerts the test uses ($SCAN $SQLI $TRAV)" test -n "$SCAN" -a -n "$SQLI" -a -n "$TRAV"

# ---- alerts: the old form keeps working, filters ----
run_cs alerts --db "$DB"
check "alerts with no subcommand lists" grep -q 'Port scan against a city host' "$OUT"
run_cs alerts --db "$DB" --json --limit 2
check "alerts --json --limit 2 prints two documents" test "$(wc -l <"$OUT")" -eq 2
run_cs alerts list --db "$DB" --system traffic-cam --json --limit 0
check "--system keeps only that system's alerts" \
    test "$(wc -l <"$OUT")" -eq "$(q "SELECT count(*) FROM alerts WHERE system_id='traffic-cam'")"
run_cs alerts list --db "$DB" --min-risk 7 --json --limit 0
check "--min-risk 7 keeps the alerts at or above it" \
    test "$(wc -l <"$OUT")" -eq "$(q "SELECT count(*) FROM alerts WHERE risk >= 7")"
run_cs alerts list --db "$DB" --rule cs-plugin-portscan --since 2026-03-12T08:00:00Z
check "--rule and --since select the port scan" grep -q "$SCAN" "$OUT"
run_cs alerts list --db "$DB" --since 1h --limit 0 --json
check "--since 1h: the demo's alerts are older" test "$(wc -l <"$OUT")" -eq 0
run_cs alerts list --db "$DB" --status sleeping
check "an unknown status is a usage error (2)" test "$RC" -eq 2
run_cs alerts list --db "$DB" --min-risk 11
check "--min-risk above 10 is a usage error (2)" test "$RC" -eq 2

# ---- alert triage ----
cs alerts ack "$SCAN"
ok_run "alerts ack"
run_cs alerts show "$SCAN" --db "$DB" --json
check "alerts show --json: acknowledged" test "$(json_get "$OUT" 'd["status"]')" = acknowledged
cs alerts ack "$SCAN"
check "acknowledging twice is refused (1)" test "$RC" -eq 1
check "... with a sentence" grep -q "only a new alert can be acknowledged" "$ERR"
cs alerts assign "$SCAN" "Nguyễn Văn An"
ok_run "alerts assign"
run_cs alerts show "$SCAN" --db "$DB" --json
check "alerts show: assigned to a Vietnamese name, exactly" \
    test "$(json_get "$OUT" 'd["status"] + "|" + d["assignee"]')" = "assigned|Nguyễn Văn An"
cs alerts close "$SCAN" --resolution false_positive --reason "máy quét của đội kiểm thử"
ok_run "alerts close"
run_cs alerts show "$SCAN" --db "$DB"
check "alerts show (text): closed, false positive" \
    bash -c "grep -qE '^  status +closed$' '$OUT' && grep -qE '^  resolution +false_positive$' '$OUT'"
check "alerts show (text) lists the audit rows" grep -q '^audit (3):' "$OUT"
cs alerts close "$SCAN" --reason x
check "close without --resolution is a usage error (2)" test "$RC" -eq 2
cs alerts reopen "$SCAN"
ok_run "alerts reopen"
check "reopened alerts are new again" test "$(q "SELECT status FROM alerts WHERE id='$SCAN'")" = new
check "four audit rows for the alert, all by the --as actor" \
    test "$(q "SELECT count(*) FROM audit WHERE object_type='alert' AND object_id='$SCAN' AND actor='analyst.lan'")" = 4
check "the audit rows name the changes in order" \
    test "$(q "SELECT group_concat(action || ':' || ifnull(to_state,''), ' ') FROM (SELECT * FROM audit
              WHERE object_type='alert' AND object_id='$SCAN' ORDER BY id)")" = \
    "acknowledge:acknowledged assign:assigned close:closed reopen:new"
cs alerts ack "$SQLI" "no-such-alert"
check "ack of an unknown alert exits 1" test "$RC" -eq 1
check "... naming it" grep -q "no-such-alert" "$ERR"
check "... and acknowledges none of them (all or nothing)" test "$(q "SELECT status FROM alerts WHERE id='$SQLI'")" = new
run_cs alerts show nope --db "$DB"
check "show of an unknown alert exits 1 with a sentence" bash -c "[ $RC -eq 1 ] && grep -q 'there is no alert nope' '$ERR'"
run_cs alerts ack "$SQLI" --db "$TMP/missing.db"
check "a change on a missing store exits 1 and creates nothing" bash -c "[ $RC -eq 1 ] && [ ! -e '$TMP/missing.db' ]"

# ---- suppressions ----
cs alerts suppress --owner "soc-team" --reason "quét định kỳ" --expires 7d --rule cs-plugin-portscan \
    --source-ip 198.51.100.77
ok_run "alerts suppress"
SUP=$(cat "$OUT")
check "suppress prints the new id ($SUP)" test "$SUP" -ge 1
cs alerts suppress --owner x --reason y --expires 7d
check "a suppression with nothing to match is refused (1)" bash -c "[ $RC -eq 1 ] && grep -q 'rule id or at least one' '$ERR'"
cs alerts suppress --owner x --reason y --expires 2020-01-01T00:00:00Z --rule r
check "an expiry in the past is refused (1)" test "$RC" -eq 1
cs alerts suppress --owner x --reason y --expires soon --rule r
check "an unreadable expiry is a usage error (2)" test "$RC" -eq 2
run_cs alerts suppressions --db "$DB" --json
check "suppressions lists it with its conditions and reason" python3 - "$OUT" "$SUP" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 1, rows
r = rows[0]
assert r["id"] == int(sys.argv[2]) and r["rule_id"] == "cs-plugin-portscan", r
assert r["conditions"] == {"source_ip": "198.51.100.77"} and r["reason"] == "quét định kỳ", r
assert r["owner"] == "soc-team" and r["expires_at"] is not None, r
EOF
cs alerts unsuppress "$SUP"
ok_run "alerts unsuppress"
run_cs alerts suppressions --db "$DB" --json
check "... and it is gone" test "$(wc -c <"$OUT")" -eq 0
cs alerts unsuppress "$SUP"
check "unsuppress of an unknown id exits 1" test "$RC" -eq 1
check "suppression add and delete are audited under --as" \
    test "$(q "SELECT count(*) FROM audit WHERE object_type='suppression' AND actor='analyst.lan'")" = 2

# ---- incidents: open from two alerts and walk the lifecycle ----
run_cs incidents board --db "$DB" --json
check "board before: the replay's incident is new" test "$(json_get "$OUT" 'd["new"]')" -ge 1
NEW0=$(json_get "$OUT" 'd["new"]')
cs incidents open --title "Tấn công web vào cổng dịch vụ công" --severity high --system portal \
    --alert "$SQLI" --alert "$TRAV"
ok_run "incidents open from two alerts"
INC=$(cat "$OUT")
check "open prints the id ($INC)" test "$INC" -ge 1
check "both alerts are linked" test "$(q "SELECT count(*) FROM incident_alerts WHERE incident_id=$INC")" = 2
cs incidents open --title t --severity high --alert nope
check "open with an unknown alert exits 1" test "$RC" -eq 1
cs incidents open --title t
check "open without --severity is a usage error (2)" test "$RC" -eq 2
cs incidents open --title t --severity extreme
check "an unknown severity is a usage error (2)" test "$RC" -eq 2

cs incidents assign "$INC" "trần.thị.bình"
ok_run "incidents assign"
for st in investigating contained resolved closed; do
    cs incidents transition "$INC" "$st" --note "bước $st"
    ok_run "transition to $st"
done
check "the walk ends closed" test "$(q "SELECT state FROM incidents WHERE id=$INC")" = closed
check "the states went new -> assigned -> investigating -> contained -> resolved -> closed" \
    test "$(q "SELECT group_concat(ifnull(from_state,'') || '>' || to_state, ' ') FROM (SELECT * FROM incident_timeline
              WHERE incident_id=$INC AND kind IN ('state','assign') ORDER BY id)")" = \
    ">new >trần.thị.bình new>assigned assigned>investigating investigating>contained contained>resolved resolved>closed"
cs incidents transition "$INC" contained
check "a forbidden transition exits 1" test "$RC" -eq 1
check "... naming the allowed next states" \
    grep -q "cannot go from closed to contained; from closed it can go to: investigating" "$ERR"
cs incidents transition "$INC" sleeping
check "an unknown state is a usage error (2)" test "$RC" -eq 2
cs incidents transition 99999 closed
check "an unknown incident exits 1 with a sentence" bash -c "[ $RC -eq 1 ] && grep -q 'there is no incident #99999' '$ERR'"
cs incidents show abc
check "a malformed id is a usage error (2)" test "$RC" -eq 2
cs incidents transition "$INC" investigating --note "mở lại"
ok_run "reopen a closed incident (closed -> investigating)"
check "every incident change is audited under --as" \
    test "$(q "SELECT count(*) FROM audit WHERE object_type='incident' AND object_id='$INC' AND actor!='analyst.lan'")" = 0
check "... with from and to states" \
    test "$(q "SELECT count(*) FROM audit WHERE object_type='incident' AND object_id='$INC' AND from_state='contained'
              AND to_state='resolved'")" = 1

# ---- comments ----
VI="Đã chặn IP 198.51.100.23 tại tường lửa; kiểm tra nhật ký truy cập — ưu tiên cao. Ngày 12/3: xác nhận"
cs incidents comment "$INC" "$VI"
ok_run "a Vietnamese comment"
printf 'ghi chú từ stdin\ndòng hai\n' |
    "$CS_BIN" incidents comment "$INC" - --db "$DB" --as analyst.lan >/dev/null 2>"$TMP/err.stdin"
check "comment - reads standard input" test $? -eq 0
NC=$(q "SELECT count(*) FROM incident_timeline WHERE kind='comment'")
head -c 1048576 /dev/zero | tr '\0' 'a' >"$TMP/big.txt"
"$CS_BIN" incidents comment "$INC" - --db "$DB" --as analyst.lan <"$TMP/big.txt" >"$TMP/out.big" 2>"$TMP/err.big"
RC=$?
check "a 1 MB comment is refused (1)" test "$RC" -eq 1
check "... and the user is told the limit" grep -q "at most 65536 are allowed (nothing was saved)" "$TMP/err.big"
check "... and nothing was stored" test "$(q "SELECT count(*) FROM incident_timeline WHERE kind='comment'")" = "$NC"
head -c 70000 /dev/zero | tr '\0' 'b' >"$TMP/big2.txt"
cs incidents comment "$INC" "$(cat "$TMP/big2.txt")"
check "a 70 KB comment given as an argument is refused too (1)" bash -c "[ $RC -eq 1 ] && grep -q 'at most 65536' '$ERR'"
cs incidents comment "$INC" ""
check "an empty comment is refused (1)" test "$RC" -eq 1
run_cs incidents show "$INC" --db "$DB" --json
check "show --json gives the Vietnamese comment back exactly" python3 - "$OUT" "$VI" <<'EOF'
import json, sys
d = json.loads(open(sys.argv[1]).readline())
comments = [t["text"] for t in d["timeline"] if t["kind"] == "comment"]
assert comments == [sys.argv[2], "ghi chú từ stdin\ndòng hai"], comments
assert d["title"] == "Tấn công web vào cổng dịch vụ công", d["title"]
assert d["assignee"] == "trần.thị.bình" and d["state"] == "investigating", d
assert len(d["alerts"]) == 2 and d["sla_breached"] is False and d["sla_due"], d
assert all(t["actor"] == "analyst.lan" for t in d["timeline"]), d["timeline"]
EOF

# ---- observables ----
cs incidents observable "$INC" ip 198.51.100.23
check "a new observable is added" bash -c "[ $RC -eq 0 ] && grep -q 'added' '$OUT'"
cs incidents observable "$INC" ip 198.51.100.23
check "the same observable again is seen again, not added" bash -c "[ $RC -eq 0 ] && grep -q 'seen again' '$OUT'"
cs incidents observable "$INC" domain "cổng.example.vn"
ok_run "a domain observable"
cs incidents observable "$INC" colour red
check "an unknown observable type is a usage error (2)" test "$RC" -eq 2
check "observables upsert: two rows" test "$(q "SELECT count(*) FROM observables WHERE incident_id=$INC")" = 2

# ---- link, merge ----
INC2_ALERT=$(q "SELECT id FROM alerts WHERE rule_id='7a1e3b90-5c2d-4e61-8f47-2b9c0d6a4e02' ORDER BY id DESC LIMIT 1")
cs incidents open --title "Second look" --severity medium
INC2=$(cat "$OUT")
cs incidents link "$INC2" "$INC2_ALERT" "$SCAN"
check "link two alerts" bash -c "[ $RC -eq 0 ] && grep -q '2 alert(s) linked' '$OUT'"
cs incidents link "$INC2" "$SCAN"
check "linking again links nothing new" bash -c "[ $RC -eq 0 ] && grep -q '0 alert(s) linked, 1 already' '$OUT'"
cs incidents observable "$INC2" hash d41d8cd98f00b204e9800998ecf8427e
cs incidents merge "$INC" "$INC2"
ok_run "incidents merge"
check "the merged incident is closed into the other" \
    test "$(q "SELECT state || '|' || merged_into FROM incidents WHERE id=$INC2")" = "closed|$INC"
run_cs incidents show "$INC" --db "$DB" --json
check "after the merge: its alerts and observables are on the target" python3 - "$OUT" "$SCAN" <<'EOF'
import json, sys
d = json.loads(open(sys.argv[1]).readline())
ids = [a["id"] for a in d["alerts"]]
assert sys.argv[2] in ids and len(ids) >= 3, ids
assert {o["type"] for o in d["observables"]} == {"ip", "domain", "hash"}, d["observables"]
EOF
cs incidents merge "$INC" "$INC"
check "merging into itself is refused (1)" test "$RC" -eq 1

# ---- list, board, SLA ----
cs incidents open --title "Ransomware trên máy chủ y tế" --severity critical --system ehealth
CRIT=$(cat "$OUT")
run_cs incidents list --db "$DB" --json --limit 100
check "list --json: one object per incident" test "$(wc -l <"$OUT")" -eq "$(q 'SELECT count(*) FROM incidents')"
check "list is newest first" test "$(json_get "$OUT" 'd["id"]')" = "$CRIT"
run_cs incidents list --db "$DB" --state closed --state investigating --json
check "list --state twice: those states only" python3 - "$OUT" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert sorted(r["state"] for r in rows) == ["closed", "investigating"], rows
EOF
run_cs incidents list --db "$DB" --limit 1
check "a page of one names the next cursor" grep -q "^more: --after $CRIT$" "$OUT"
run_cs incidents list --db "$DB" --limit 1 --after "$CRIT" --json
check "--after gives the next page" test "$(json_get "$OUT" 'd["id"]')" = "$INC2"
run_cs incidents list --db "$DB" --severity critical --json
check "--severity critical" bash -c "[ \$(wc -l <'$OUT') -eq 1 ] && grep -q '\"id\":$CRIT,' '$OUT'"
run_cs incidents list --db "$DB" --assignee "trần.thị.bình"
check "--assignee with a Vietnamese name" grep -q "Tấn công web" "$OUT"
run_cs incidents board --db "$DB" --json
check "board counts by state" \
    test "$(json_get "$OUT" '"%d %d %d" % (d["new"], d["investigating"], d["closed"])')" = "$((NEW0 + 1)) 1 1"
run_cs incidents board --db "$DB"
check "board as text" grep -qE '^investigating +1$' "$OUT"
run_cs incidents sla --db "$DB" --json
check "sla: nothing breached yet" test "$(wc -c <"$OUT")" -eq 0
q "UPDATE incidents SET sla_due = sla_due - 5 * 3600 * 1000000 WHERE id = $CRIT"
run_cs incidents sla --db "$DB" --json
check "sla lists the critical incident past its due time" \
    bash -c "[ \$(wc -l <'$OUT') -eq 1 ] && grep -q '\"id\":$CRIT,.*\"sla_breached\":true' '$OUT'"
run_cs incidents sla --db "$DB"
check "sla as text" grep -q "Ransomware" "$OUT"
run_cs incidents show "$CRIT" --db "$DB"
check "show (text) says the SLA is breached" grep -qE '^  sla due .*\(BREACHED\)$' "$OUT"

# ---- usage ----
run_cs incidents --help
check "incidents --help exits 0 with usage" bash -c "[ $RC -eq 0 ] && grep -q usage '$OUT'"
run_cs incidents frob --db "$DB"
check "an unknown incidents command exits 2" test "$RC" -eq 2
run_cs incidents list --db "$DB" --title x
check "an option of another subcommand exits 2" test "$RC" -eq 2
run_cs alerts frob --db "$DB"
check "an unknown alerts command exits 2" test "$RC" -eq 2
run_cs incidents list --db "$TMP/none.db"
check "a missing store exits 1 naming it" bash -c "[ $RC -eq 1 ] && grep -q '$TMP/none.db' '$ERR'"
finish
