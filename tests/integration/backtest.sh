#!/usr/bin/env bash
# Backtesting rules over recorded events: the events citysoc wrote with
# --events are read back as JSON (`replay --log-format json --log FILE`) and
# matched again; the alerts are the ones the live replay raised. A rule
# added afterwards is tried on the recorded events before it goes live.
. "$(dirname "$0")/lib.bash"

command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing (tools/citysoc-setup installs it)"; exit 1; }
CFG=$CS_SOURCE_DIR/etc/citysoc.yaml
run_cs demo-data "$TMP/demo" --start 2026-03-12T08:00:00Z
check "demo-data exits 0" test "$RC" -eq 0

run_cs replay -c "$CFG" --pcap "$TMP/demo/demo.pcap" --log "$TMP/demo/auth.log" --log "$TMP/demo/syslog" \
    --log-format nginx --host portal-web01 --log "$TMP/demo/nginx-access.log" \
    --events "$TMP/events.jsonl" --db "$TMP/live.db"
check "live replay exits 0" test "$RC" -eq 0
run_cs replay -c "$CFG" --log-format json --log "$TMP/events.jsonl" --db "$TMP/backtest.db"
check "backtest over the recorded events exits 0" test "$RC" -eq 0
no_crash && ok "backtest did not crash" || not_ok "backtest did not crash: $(head -c 2000 "$ERR")"

q() { sqlite3 -batch -noheader "$1" "SELECT rule_id, system_id, source_ip, destination_ip, host_name, count
                                     FROM alerts ORDER BY 1, 2, 3, 4, 5, 6"; }
q "$TMP/live.db" >"$TMP/live.txt"
q "$TMP/backtest.db" >"$TMP/backtest.txt"
n=$(wc -l <"$TMP/live.txt")
check "the live replay raised alerts ($n)" test "$n" -ge 3
check "the backtest raises the same alerts, counts included" cmp -s "$TMP/live.txt" "$TMP/backtest.txt"
cmp -s "$TMP/live.txt" "$TMP/backtest.txt" || diff "$TMP/live.txt" "$TMP/backtest.txt" | head -20

# a candidate rule, tried on the recorded events only
mkdir -p "$TMP/candidate"
cat >"$TMP/candidate/root_login_attempts.yml" <<'YAML'
title: Root login attempts (candidate)
id: 3c0d8d0e-7a8b-4bb5-9b2c-5f7e4c1d2a90
status: experimental
logsource: {product: linux, service: sshd}
detection:
  sel:
    message|contains: 'for root from'
  condition: sel
level: low
YAML
run_cs replay --rules "$TMP/candidate" --log-format json --log "$TMP/events.jsonl" --alerts "$TMP/candidate.jsonl"
check "candidate backtest exits 0" test "$RC" -eq 0
hits=$(grep -c '"3c0d8d0e-7a8b-4bb5-9b2c-5f7e4c1d2a90"' "$TMP/candidate.jsonl")
want=$(grep -c 'sshd.*for root from' "$TMP/demo/auth.log")
check "the candidate rule finds the recorded root attempts ($hits alert(s) for $want line(s))" \
    bash -c "[ '$want' -ge 1 ] && [ '$hits' -ge 1 ]"
finish
