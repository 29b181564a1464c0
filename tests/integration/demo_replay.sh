#!/usr/bin/env bash
# The demo end to end: generate the demo data, replay it with the demo
# configuration into a real SQLite file, and read the alerts back from it.
. "$(dirname "$0")/lib.bash"

command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing (tools/citysoc-setup installs it)"; exit 1; }
run_cs demo-data "$TMP/demo" --start 2026-03-12T08:00:00Z
check "demo-data exits 0" test "$RC" -eq 0
for f in demo.pcap auth.log syslog nginx-access.log; do
    check "demo-data wrote $f" test -s "$TMP/demo/$f"
done
run_cs demo-data "$TMP/demo2" --start 2026-03-12T08:00:00Z
check "demo data is deterministic" cmp -s "$TMP/demo/demo.pcap" "$TMP/demo2/demo.pcap"

DB=$TMP/citysoc.db
run_cs replay -c "$CS_SOURCE_DIR/etc/citysoc.yaml" --pcap "$TMP/demo/demo.pcap" \
    --log "$TMP/demo/auth.log" --log "$TMP/demo/syslog" \
    --log-format nginx --host portal-web01 --log "$TMP/demo/nginx-access.log" \
    --events "$TMP/events.jsonl" --alerts "$TMP/alerts.jsonl" --db "$DB"
check "replay exits 0" test "$RC" -eq 0
no_crash && ok "replay did not crash" || not_ok "replay did not crash: $(head -c 2000 "$ERR")"
[ "$RC" -eq 0 ] || cat "$ERR"

q() { sqlite3 -batch -noheader "$DB" "$1"; }
check "store is in WAL mode" test "$(q 'PRAGMA journal_mode')" = wal
n=$(q "SELECT count(*) FROM alerts")
check "at least three alerts stored ($n)" test "${n:-0}" -ge 3
ssh=$(q "SELECT system_id || '|' || source_ip || '|' || count FROM alerts WHERE rule_id='6b1f7c2e-9a4d-4e8b-b3c5-0d2e8f6a7c10'")
check "SSH brute force correlation on the population database ($ssh)" \
    bash -c "[[ '$ssh' =~ ^popdb\|203\.0\.113\.45\|([0-9]+)$ ]] && [ \${BASH_REMATCH[1]} -ge 1 ]"
single=$(q "SELECT count(*) FROM alerts WHERE rule_id='4f0c2a57-1d7e-4c52-9b0e-3a6d5e8f1c01'")
check "single SSH failures are evidence, not alerts (generate: false) ($single)" test "$single" -eq 0
scan=$(q "SELECT system_id || '|' || source_ip || '|' || destination_ip FROM alerts WHERE rule_id='cs-plugin-portscan'")
check "port scan alert from the plugin ($scan)" test "$scan" = "traffic-cam|198.51.100.77|10.10.3.15"
web=$(q "SELECT count(*) FROM alerts WHERE system_id='portal' AND source_ip='198.51.100.23' AND rule_id IN
        ('7a1e3b90-5c2d-4e61-8f47-2b9c0d6a4e02','2d9b7c44-8e13-4f0a-a6c5-9e1f3b2d7a03')")
check "web attack alerts on the public-service portal ($web)" test "${web:-0}" -ge 1
weblog=$(q "SELECT count(*) FROM alerts WHERE system_id='portal' AND host_name='portal-web01' AND
          rule_id='7a1e3b90-5c2d-4e61-8f47-2b9c0d6a4e02'")
check "the same SQL injection seen in the portal's access log ($weblog)" test "${weblog:-0}" -eq 1
check "access log events carry Sigma's webserver names" grep -q '"cs-uri-query":"/tra-cuu?ma_ho_so=' "$TMP/events.jsonl"
inc=$(q "SELECT i.severity || '|' || i.system_id || '|' || i.state FROM incidents i JOIN incident_alerts ia
        ON ia.incident_id = i.id JOIN alerts a ON a.id = ia.alert_id
        WHERE a.rule_id='6b1f7c2e-9a4d-4e8b-b3c5-0d2e8f6a7c10'")
check "the brute force (risk 7.2 >= 7) opened an incident on popdb ($inc)" test "$inc" = "high|popdb|new"
check "only alerts at or above the policy's risk opened incidents" \
    test "$(q "SELECT count(*) FROM incident_alerts ia JOIN alerts a ON a.id = ia.alert_id WHERE a.risk < 7")" = 0
risk=$(q "SELECT risk FROM alerts WHERE rule_id='6b1f7c2e-9a4d-4e8b-b3c5-0d2e8f6a7c10'")
# high (4) x asset 5 x correlation reliability 9 / 25 = 7.2
check "risk follows priority x asset x reliability / 25 ($risk)" test "$risk" = "7.2"

check "every event line is ECS JSON" bash -c "! grep -qv '^{\"@timestamp\":\"20' '$TMP/events.jsonl'"
for p in '"protocol":"SSH"' '"protocol":"HTTP"' '"protocol":"DNS"' '"protocol":"TLS'; do
    check "flow events carry citysoc.ndpi.protocol $p" grep -q "$p" "$TMP/events.jsonl"
done
check "flow events carry a Community ID" grep -q '"community_id":"1:' "$TMP/events.jsonl"
check "log events keep the raw line" grep -q '"original":"Mar 12 08:' "$TMP/events.jsonl"
check "events carry the owning system" grep -q '"system":{"id":"popdb"' "$TMP/events.jsonl"
# every packet-sensor kind carries the system of its address (inventory)
for k in flow dns http tls ssh risk; do
    check "$k events carry the owning system" \
        bash -c "grep -F '\"dataset\":\"citysoc.$k\"' '$TMP/events.jsonl' | grep -q '\"system\":{\"id\":\"'"
done
na=$(wc -l <"$TMP/alerts.jsonl")
check "alerts output has one line per stored alert ($na = $n)" test "$na" -eq "$n"

run_cs alerts --db "$DB"
check "citysoc alerts lists the stored alerts" grep -q 'Port scan against a city host' "$OUT"
run_cs alerts --db "$DB" --json --limit 2
check "citysoc alerts --json --limit 2 prints two documents" test "$(wc -l <"$OUT")" -eq 2

# a second replay into the same store adds nothing: alert ids are stable
run_cs replay -c "$CS_SOURCE_DIR/etc/citysoc.yaml" --pcap "$TMP/demo/demo.pcap" \
    --log "$TMP/demo/auth.log" --log "$TMP/demo/syslog" \
    --log-format nginx --host portal-web01 --log "$TMP/demo/nginx-access.log" --db "$DB"
check "replaying again keeps the same alerts" test "$(q 'SELECT count(*) FROM alerts')" -eq "$n"
# informational rules tag events and raise no alert (Sigma: "no case or alerting")
check "the accepted SSH login is tagged by its informational rule" grep -q '"sigma:ssh_login_success"' "$TMP/events.jsonl"
check "... and raises no alert" bash -c "! grep -q 'SSH login accepted' '$TMP/alerts.jsonl'"
finish
