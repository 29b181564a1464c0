#!/usr/bin/env bash
# Alert aggregation end to end: 10,000 identical SSH password failures from
# one address on one server, inside the aggregation window, through
# `citysoc replay` with a rule that alerts on each failure, make ONE alert
# with count 10,000 (in --alerts and in the store), first and last seen the
# first and last line; the same lines from a second address make a second.
. "$(dirname "$0")/lib.bash"

mkdir -p "$TMP/rules"
cat >"$TMP/rules/ssh_fail_each.yml" <<'YML'
title: SSH password failure (every one)
id: 0b7d4c1e-2f3a-4b5c-8d6e-7f8091a2b3c4
status: stable
logsource:
  product: linux
  service: sshd
detection:
  selection:
    process.name: sshd
    message|contains: 'Failed password for '
  condition: selection
level: high
YML
# 10,000 lines, one every 20 ms (200 s, inside the 300 s window), then 3 from another address
python3 - "$TMP/auth.log" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(10000):
        ms = i * 20
        f.write("Mar 12 08:%02d:%02d popdb01 sshd[%d]: Failed password for root from 203.0.113.45 port %d ssh2\n"
                % (ms // 60000, (ms // 1000) % 60, 4000 + i % 1000, 40000 + i % 20000))
    for i in range(3):
        f.write("Mar 12 08:04:%02d popdb01 sshd[5000]: Failed password for admin from 198.51.100.9 port 5%04d ssh2\n" % (i, i))
PY
DB=$TMP/agg.db
run_cs replay --rules "$TMP/rules" --inventory "$CS_SOURCE_DIR/etc/inventory.yaml" --log-format syslog \
    --log "$TMP/auth.log" --alerts "$TMP/alerts.jsonl" --db "$DB" -q
check "replay exits 0 (exit $RC)" test "$RC" -eq 0
check "replay did not crash" no_crash
n=$(wc -l <"$TMP/alerts.jsonl")
check "two alerts, one per source address ($n)" test "$n" -eq 2
line=$(grep -F '"ip":"203.0.113.45"' "$TMP/alerts.jsonl")
check "the brute force is one alert with count 10000" grep -qF '"count":10000' <<<"$line"
q() { sqlite3 -batch -noheader "$DB" "$1"; }
check "the store holds that count ($(q "SELECT count FROM alerts WHERE source_ip='203.0.113.45'"))" \
    test "$(q "SELECT count FROM alerts WHERE source_ip='203.0.113.45'")" = 10000
span=$(q "SELECT (last_seen - first_seen) / 1000 FROM alerts WHERE source_ip='203.0.113.45'")
check "first and last seen span the 10000 lines (${span} ms)" test "$span" -ge 199000 -a "$span" -le 200000
check "the other address is its own alert with count 3" \
    test "$(q "SELECT count FROM alerts WHERE source_ip='198.51.100.9'")" = 3
finish
