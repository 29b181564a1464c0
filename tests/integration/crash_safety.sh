#!/usr/bin/env bash
# Crash safety of `citysoc run` (issue #6): while it ingests a large followed
# log file, it is killed with SIGKILL; then
#   - every alert the store had acknowledged (committed, seen by a reader
#     before the kill) is still there after the kill and after the restart;
#   - the database passes PRAGMA integrity_check;
#   - the restarted run resumes the file from its persisted offset (it says
#     so), and by the end the sources of the file have their alerts, but for
#     the lines that were in flight at the kill (see below).
. "$(dirname "$0")/lib.bash"
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is missing"; exit 77; }

mkdir -p "$TMP/rules" "$TMP/logs" "$TMP/state"
cat >"$TMP/rules/ssh_fail_each.yml" <<'YML'
title: SSH password failure (every one)
id: 5c2e9a71-8b3d-4f60-9e1a-2d4c6b8f0a13
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
# 400,000 lines: 8,000 source addresses, 50 consecutive lines each
python3 - "$TMP/big.log" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(400000):
        src = i // 50
        s = i // 100
        f.write("Mar 12 %02d:%02d:%02d popdb01 sshd[%d]: Failed password for root from 10.%d.%d.%d port %d ssh2\n"
                % (8 + s // 3600, (s // 60) % 60, s % 60, 1000 + i % 5000, 100 + src // 65536, (src // 256) % 256,
                   src % 256, 30000 + i % 30000))
PY
size=$(stat -c %s "$TMP/big.log")
cat >"$TMP/run.yaml" <<YML
log_level: info
store: {path: $TMP/cs.db}
rules: [$TMP/rules]
inputs:
  tail:
    - paths: ["$TMP/big.log"]
      format: syslog
      from_start: true   # an existing file is read from its start the first time
  state_dir: $TMP/state
http: {listen: 127.0.0.1, port: 0}
YML
q() { sqlite3 -batch -noheader "$TMP/cs.db" "$1" 2>/dev/null; }

"$CS_BIN" run -c "$TMP/run.yaml" >"$TMP/run1.out" 2>"$TMP/run1.err" &
pid=$!
# state file: a header line, then "device inode offset path" per file
offset() { awk -v f="$TMP/big.log" 'NR > 1 && $4 == f { print $3 }' "$TMP"/state/* 2>/dev/null | tail -n1; }
# wait until the store has acknowledged a good part, but not all, of the
# alerts, and the tail has persisted an offset past the start
n=0
for _ in $(seq 1 600); do
    n=$(q "SELECT count(*) FROM alerts" || echo 0)
    o=$(offset)
    [ "${n:-0}" -ge 1500 ] && [ "${o:-0}" -gt 0 ] && break
    sleep 0.05
done
q "SELECT id FROM alerts ORDER BY id" >"$TMP/acked.txt"
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
acked=$(wc -l <"$TMP/acked.txt")
check "the store had acknowledged alerts before the kill ($acked)" test "$acked" -ge 1500
check "killed mid-ingest (fewer than the 8000 sources had alerts: $acked)" test "$acked" -lt 8000
check "integrity_check after SIGKILL" test "$(q 'PRAGMA integrity_check')" = ok
q "SELECT id FROM alerts ORDER BY id" >"$TMP/after_kill.txt"
check "every acknowledged alert survived the kill" \
    bash -c "[ -z \"\$(comm -23 '$TMP/acked.txt' '$TMP/after_kill.txt')\" ]"
saved=$(offset)
check "the tail offset was persisted mid-file (${saved:-none} of $size bytes)" \
    test "${saved:-0}" -gt 0 -a "${saved:-0}" -lt "$size"

# restart: it resumes at the saved offset and finishes the file
"$CS_BIN" run -c "$TMP/run.yaml" >"$TMP/run2.out" 2>"$TMP/run2.err" &
pid=$!
for _ in $(seq 1 1200); do
    n=$(q "SELECT count(DISTINCT source_ip) FROM alerts" || echo 0)
    [ "${n:-0}" -ge 8000 ] && break
    sleep 0.05
done
sleep 1
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
check "the restarted run stops cleanly on SIGTERM (exit $rc)" test "$rc" -eq 0
check "the restart resumed the file at its saved offset ($saved)" \
    grep -q "big.log: resuming at its saved offset $saved of $size bytes" "$TMP/run2.err" "$TMP/run2.out"
# Lines the queue had taken but the store had not yet committed when the
# process died are not re-read (the offset is kept once the pipeline
# accepts a line): what sat in the event queue (4096 lines), in the
# correlator's batch and in the store writer's queue, 50 to 150 of the
# 8000 sources here depending on the machine's load. Acknowledging a line
# only once its alerts are committed is the remaining work of issue #6;
# until then this checks that the restart read on to the end.
check "the restart read the rest of the file (sources with an alert: $n of 8000)" test "$n" -ge 7500
q "SELECT id FROM alerts ORDER BY id" >"$TMP/final.txt"
check "every acknowledged alert is still there after the restart" \
    bash -c "[ -z \"\$(comm -23 '$TMP/acked.txt' '$TMP/final.txt')\" ]"
check "integrity_check at the end" test "$(q 'PRAGMA integrity_check')" = ok
finish
